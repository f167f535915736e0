import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// bcrypt on threads of its own: a hash takes a few hundred milliseconds at cost 12 and must
/// never run on an event loop or the cooperative pool. The pool also bounds how many hashes run
/// at once, so a flood of logins queues instead of starving the server.
public final class PasswordHasher: Sendable {
    public static let minimumLength = 10
    /// bcrypt reads 72 bytes at most; a longer password would be silently cut.
    public static let maximumBytes = 72

    let cost: UInt8
    private let threads: NIOThreadPool
    /// Verified when the email is unknown, so both failures take the same time. Made on first
    /// need, on the hashing threads: making it costs a whole bcrypt, which start-up need not pay.
    private let decoy = Mutex<String?>(nil)

    /// `cost` is bcrypt's log2 rounds: 12 in production; tests may use 4, the minimum.
    public init(cost: UInt8 = 12, threads: Int = 2) {
        self.cost = cost
        self.threads = NIOThreadPool(numberOfThreads: threads)
        self.threads.start()
    }

    public func shutdown() async {
        try? await threads.shutdownGracefully()
    }

    /// Refuses a password bcrypt cannot keep whole or that is too short to be worth hashing.
    public static func validate(_ password: String) throws {
        guard password.count >= minimumLength else {
            throw TenancyError(.invalidPassword, "a password needs at least \(minimumLength) characters")
        }
        guard password.utf8.count <= maximumBytes else {
            throw TenancyError(.invalidPassword, "a password can be at most \(maximumBytes) bytes long")
        }
    }

    public func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await threads.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks a password against a stored hash, or against the decoy when there is none.
    public func verify(_ password: String, hash: String?) async throws -> Bool {
        let matches = try await threads.runIfActive { Bcrypt.verify(password, hash: hash ?? self.decoyHash()) }
        return matches && hash != nil
    }

    /// Runs on the hashing threads only.
    private func decoyHash() -> String {
        decoy.withLock { made in
            if let made { return made }
            let fresh = Bcrypt.hash("decoy-password-never-matches", cost: cost)
            made = fresh
            return fresh
        }
    }
}
