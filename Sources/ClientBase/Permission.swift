import Tenancy

/// What a role may do inside its business. The README publishes this matrix and the API
/// tests check every cell of it.
///
/// Owner and admin manage users and keys; a manager reads and writes the whole client base and
/// runs analytics; an agent reads and writes the clients assigned to them (see `ClientAccess`);
/// a viewer reads only.
public enum Permission: String, Sendable, CaseIterable {
    /// Read clients and what hangs off them (an agent: their own clients only).
    case readClients
    /// Create and change clients and what hangs off them (an agent: their own clients only).
    case writeClients
    /// Delete or merge client records.
    case deleteClients
    /// The owner's questions: Pareto, market share, RFM...
    case runAnalytics
    /// CSV import, bulk export.
    case bulkData
    /// Subject-access export and erasure of one client.
    case dataRights
    /// See the account's users (to assign clients to them).
    case readUsers
    /// Invite, change and remove users; create and revoke API keys; rename the account and set its time zone.
    case manageUsers
    /// Read the audit log.
    case readAudit
    /// See and manage the tenant's jobs, surveys and alerts settings.
    case manageJobs
    /// Handle churn alerts (acknowledge, resolve, lose) and change the churn settings. Reading
    /// alerts and scores is `readClients` (an agent: their own clients' only).
    case manageAlerts
    /// Create and change survey campaigns and the survey rules, send a campaign, read its
    /// results (every role that reads clients reads the campaigns themselves).
    case manageSurveys
    /// See and change the account's own mail server (`/v1/mail/settings`).
    case manageMail

    public func allows(_ role: AccessRole) -> Bool {
        switch self {
        case .readClients: true
        case .writeClients: role != .viewer
        case .deleteClients, .runAnalytics, .bulkData, .manageJobs, .readUsers, .manageAlerts, .manageSurveys: [.owner, .admin, .manager].contains(role)
        case .dataRights, .manageUsers, .readAudit, .manageMail: [.owner, .admin].contains(role)
        }
    }

    /// For error messages: "may not <summary>".
    public var summary: String {
        switch self {
        case .readClients: "read clients"
        case .writeClients: "change clients"
        case .deleteClients: "delete or merge clients"
        case .runAnalytics: "run analytics"
        case .bulkData: "import or export in bulk"
        case .dataRights: "export or erase a client's personal data"
        case .readUsers: "list the account's users"
        case .manageUsers: "manage users, API keys and the account settings"
        case .readAudit: "read the audit log"
        case .manageJobs: "manage jobs"
        case .manageAlerts: "handle churn alerts or change the churn settings"
        case .manageSurveys: "manage survey campaigns"
        case .manageMail: "see or change the account's mail server"
        }
    }
}
