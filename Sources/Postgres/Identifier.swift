/// The one way an identifier (schema, role, channel name) enters SQL text.
/// Values never do: they are always bound parameters.
public func quoteIdentifier(_ name: String) -> String {
    precondition(!name.contains("\u{0}"), "identifiers cannot contain NUL")
    return "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
