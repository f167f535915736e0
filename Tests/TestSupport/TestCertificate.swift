import Foundation

/// A self-signed certificate for 127.0.0.1 and localhost, made once per test run by openssl:
/// the loopback SMTP and webhook servers' TLS (STARTTLS, SMTPS, https). Its directory is
/// removed when the test process exits.
public enum TestCertificate {
    static let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-tests-tls-\(getpid())")

    public static let files: Result<(certificate: String, key: String), any Error> = Result {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: TestCertificate.directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        try LoopbackServer.run([
            "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", key, "-out", certificate,
        ])
        return (certificate, key)
    }

    public static var certificate: String { get throws { try files.get().certificate } }
    public static var key: String { get throws { try files.get().key } }
}
