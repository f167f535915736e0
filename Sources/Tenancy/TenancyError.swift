/// Errors of the tenant catalogue, keys and migrations, each with a message fit for a person.
public struct TenancyError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable {
        let raw: String
        public static let invalidSlug = Code(raw: "invalidSlug")
        public static let invalidName = Code(raw: "invalidName")
        public static let slugTaken = Code(raw: "slugTaken")
        public static let unknownTenant = Code(raw: "unknownTenant")
        public static let tenantDeleted = Code(raw: "tenantDeleted")
        public static let confirmationMismatch = Code(raw: "confirmationMismatch")
        public static let unknownKey = Code(raw: "unknownKey")
        public static let invalidRole = Code(raw: "invalidRole")
        public static let migrationsNotFound = Code(raw: "migrationsNotFound")
        public static let invalidMigration = Code(raw: "invalidMigration")
        public static let editedMigration = Code(raw: "editedMigration")
        public static let unknownMigration = Code(raw: "unknownMigration")
        public static let migrationFailed = Code(raw: "migrationFailed")
        public static let invalidEmail = Code(raw: "invalidEmail")
        public static let invalidPassword = Code(raw: "invalidPassword")
        public static let userExists = Code(raw: "userExists")
        public static let unknownUser = Code(raw: "unknownUser")
        public static let lastOwner = Code(raw: "lastOwner")
        public static let roleTooHigh = Code(raw: "roleTooHigh")
        public static let invalidCredentials = Code(raw: "invalidCredentials")
        public static let tooManyAttempts = Code(raw: "tooManyAttempts")
        public static let invalidInvitation = Code(raw: "invalidInvitation")
        public static let invalidResetToken = Code(raw: "invalidResetToken")
        public static let wrongPassword = Code(raw: "wrongPassword")
        /// The action needs a login session (an API key has no password to change).
        public static let sessionRequired = Code(raw: "sessionRequired")
    }

    public var code: Code
    public var message: String
    /// For `tooManyAttempts`: when to try again.
    public var retryAfterSeconds: Int?

    public init(_ code: Code, _ message: String, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { message }
}
