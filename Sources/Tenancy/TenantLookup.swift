import Postgres

extension TenantScope {
    /// The scope of an active tenant found by its id, or nil (unknown, suspended or deleted).
    /// For the public pages whose links carry the tenant id in clear (a survey token): they
    /// find their tenant without a credential and without a platform table of their own.
    public static func active(tenantID: Int64, client: PostgresClient) async throws -> TenantScope? {
        let rows = try await client.query("""
            SELECT \(fragment: Tenant.columns) FROM platform.tenants WHERE id = \(tenantID) AND status = 'active'
            """)
        return try rows.first.map { TenantScope(try Tenant(row: $0)) }
    }
}
