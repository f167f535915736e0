/// The named statements one connection has prepared, by SQL text and parameter types.
///
/// A statement marked `prepared()` is parsed and planned once per connection; later runs send
/// only its name and values, and PostgreSQL reuses the plan (a generic one, once its cost
/// shows it is as good as planning each time). PostgreSQL also replans by itself when the
/// tables change or the search_path differs, so one name serves every tenant safely: another
/// tenant's transaction, with its own search_path, gets its own tables.
///
/// The set is bounded, since each statement holds its parse tree and plan in the backend's
/// memory (half a megabyte for the timeline's union): past `capacity`, statements run unnamed
/// (parsed and planned each time) until the pool retires the connection at its maximum lifetime.
struct PreparedStatements {
    struct Key: Hashable {
        var sql: String
        /// A NULL is sent untyped, so one text may be prepared with different types.
        var types: [UInt32]

        // By bytes: the server sees bytes, and String's own hashing and equality normalise
        // Unicode first, which a text with one `€` sends down a slow path at every lookup.
        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.types == rhs.types && lhs.sql.utf8.elementsEqual(rhs.sql.utf8)
        }

        func hash(into hasher: inout Hasher) {
            var sql = sql
            sql.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            hasher.combine(types)
        }
    }

    private var names: [Key: String] = [:]
    private var made = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    var count: Int { names.count }

    func name(for key: Key) -> String? { names[key] }

    /// A name not used before on this connection.
    mutating func newName() -> String {
        made += 1
        return "clientele_\(made)"
    }

    /// Records a statement once the server has confirmed its preparation.
    mutating func insert(_ key: Key, name: String) {
        names[key] = name
    }

    /// Forgets every name, after the server may have lost them.
    mutating func removeAll() {
        names.removeAll()
    }
}
