/// The version Tollgate reports (`GET /v2`, `tollgate --version`).
public enum TollgateVersion {
    public static let current = "0.3.0"
}
