/// Per-plugin figures read from the kernel's Prometheus exposition: for every series labelled
/// `plugin="<name>"`, the metric name and its value summed over the other labels (histogram
/// buckets and the state/info gauges, which `/v1/plugins` shows otherwise, are left out).
enum PluginFigures {
    /// Figures by plugin name, each a list of (metric name, value) sorted by metric name.
    static func parse(_ exposition: String) -> [String: [(String, Double)]] {
        var sums: [String: [String: Double]] = [:]
        for line in exposition.split(separator: "\n") {
            guard let first = line.first, first != "#", let brace = line.firstIndex(of: "{"),
                let close = line.lastIndex(of: "}"), brace < close
            else { continue }
            let name = line[..<brace]
            if name.hasSuffix("_bucket") || name == "jamey_plugin_state" || name == "jamey_plugin_info" { continue }
            guard let plugin = label("plugin", in: line[line.index(after: brace)..<close]),
                let value = Double(line[line.index(after: close)...].trimmingPrefix(" ").prefix { $0 != " " })
            else { continue }
            sums[plugin, default: [:]][String(name), default: 0] += value
        }
        return sums.mapValues { $0.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    /// The value of label `name` in a label list `a="x",b="y"` (escapes resolved).
    static func label(_ name: String, in labels: Substring) -> String? {
        var rest = labels
        while !rest.isEmpty {
            guard let eq = rest.firstIndex(of: "=") else { return nil }
            let key = rest[..<eq].trimmingPrefix(",")
            var i = rest.index(after: eq)
            guard i < rest.endIndex, rest[i] == "\"" else { return nil }
            i = rest.index(after: i)
            var value = ""
            while i < rest.endIndex, rest[i] != "\"" {
                if rest[i] == "\\", rest.index(after: i) < rest.endIndex {
                    i = rest.index(after: i)
                    value.append(rest[i] == "n" ? "\n" : rest[i])
                } else {
                    value.append(rest[i])
                }
                i = rest.index(after: i)
            }
            if key == name { return value }
            guard i < rest.endIndex else { return nil }
            rest = rest[rest.index(after: i)...]
        }
        return nil
    }
}
