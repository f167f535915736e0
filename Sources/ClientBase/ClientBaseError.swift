/// A request the client base refuses, with what to tell the caller. The HTTP layer maps the
/// codes to statuses (422, 404, 409, 412, 403); nothing here is a server fault.
public struct ClientBaseError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// A field's value breaks a rule (422).
        case invalid
        /// No such record in this tenant (404): never says whether it exists elsewhere.
        case notFound
        /// The value is taken by another record (409).
        case conflict
        /// The record changed since the revision the caller read (412).
        case staleRevision
        /// The actor's role does not allow this (403).
        case forbidden
    }

    public var code: Code
    public var message: String
    /// The JSON field concerned, if one is.
    public var field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { message }
}
