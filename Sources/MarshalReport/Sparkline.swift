/// A one-line chart for terminals: ▁▂▃▄▅▆▇█ scaled from 0 to the series' highest value, at most
/// `width` characters (neighbouring values averaged).
public enum Sparkline {
    static let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public static func text(_ values: [Double], width: Int = 60) -> String {
        guard !values.isEmpty, width > 0 else { return "" }
        let per = (values.count + width - 1) / width
        let points = stride(from: 0, to: values.count, by: per).map { start -> Double in
            let slice = values[start..<min(start + per, values.count)]
            return slice.reduce(0, +) / Double(slice.count)
        }
        let top = points.max() ?? 0
        return String(points.map { v in top <= 0 ? bars[0] : bars[min(bars.count - 1, Int((v / top) * Double(bars.count - 1) + 0.5))] })
    }
}
