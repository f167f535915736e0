import Crypto
import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Synchronization
import Tenancy

/// Checks bearer tokens against the key store, caching good credentials for a short while so
/// a request does not pay a second database round trip. Key revocations and tenant status
/// changes are announced on `clientele_auth`; the cache is emptied when one arrives (and when
/// the listener reconnects, since it may have missed some), so they take effect at once.
public final class Authenticator: Service, Sendable {
    public let keys: APIKeyStore
    /// Login sessions (`cs_` tokens); API keys (`ck_`) go to `keys`.
    public let users: UserStore?
    let timeToLive: Duration
    let listener: PostgresListener?
    private let cache = Mutex<[String: Entry]>([:])
    private static let maximumEntries = 10_000

    struct Entry {
        var credential: Credential
        var expires: ContinuousClock.Instant
    }

    /// `listener` is nil where notifications are not wanted (the TTL alone then bounds staleness).
    public init(keys: APIKeyStore, users: UserStore? = nil, timeToLive: Duration = .seconds(30), listener: PostgresListener?) {
        self.keys = keys
        self.users = users
        self.timeToLive = timeToLive
        self.listener = listener
    }

    /// The credential for a token, or nil if the token grants nothing.
    func authenticate(token: String) async throws -> Credential? {
        // The cache is keyed by a hash, so it never holds secrets.
        let key = Data(SHA256.hash(data: Data(token.utf8))).base64EncodedString()
        let now = ContinuousClock.now
        if let entry = cache.withLock({ $0[key] }), entry.expires > now {
            return entry.credential
        }
        let found = if token.hasPrefix("cs_") {
            try await users?.authenticate(sessionToken: token)
        } else {
            try await keys.authenticate(token: token)
        }
        guard let credential = found else { return nil }
        if timeToLive > .zero {
            cache.withLock { cache in
                if cache.count >= Self.maximumEntries { cache.removeAll() }
                cache[key] = Entry(credential: credential, expires: now + timeToLive)
            }
        }
        return credential
    }

    func invalidate() {
        cache.withLock { $0.removeAll() }
    }

    /// Listens for changes until graceful shutdown.
    public func run() async throws {
        guard let listener else {
            try? await gracefulShutdown()
            return
        }
        let events = listener.events()
        listener.start()
        await withGracefulShutdownHandler {
            for await _ in events { invalidate() }
        } onGracefulShutdown: {
            Task { await listener.stop() }
        }
    }
}
