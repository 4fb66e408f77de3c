extension String {
    /// The string without leading and trailing whitespace: code points with Unicode's White_Space
    /// property (spaces, tabs, line breaks), as the route schemas' patterns count them.
    var trimmedWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
