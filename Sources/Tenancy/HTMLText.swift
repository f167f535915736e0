/// Escaping for HTML text and attribute values: everything a client, a tenant or a request
/// wrote goes through it in every page and email we write (survey pages, account pages, emails).
public enum HTMLText {
    /// `& < > " '` as entities.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
