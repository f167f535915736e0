import NIOCore
import NIOSSL

/// Which server certificates a TLS connection accepts.
public enum TLSTrust: Sendable, Hashable {
    /// The system's certificate authorities, with the host name checked.
    case systemDefault
    /// The certificates of a PEM file (a private CA, or a self-signed server certificate itself),
    /// with the host name (or IP address) checked.
    case pemFile(String)
    /// Any certificate, unchecked: encryption without authentication. Tests and trusted relays only.
    case insecureNoVerification

    func makeContext() throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch self {
        case .systemDefault:
            break
        case .pemFile(let path):
            tls.trustRoots = .file(path)
        case .insecureNoVerification:
            tls.certificateVerification = .none
        }
        return try NIOSSLContext(configuration: tls)
    }

    /// The name sent in SNI and checked against the certificate; nil for an IP address, which
    /// NIOSSL then checks against the certificate's IP entries.
    static func serverName(for host: String) -> String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }
}
