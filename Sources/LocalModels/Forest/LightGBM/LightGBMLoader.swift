public enum LightGBMLoader {
    public static func load(bytes: [UInt8], file: String) throws(ForestLoadError) -> ForestModel {
        throw ForestLoadError(file: file, part: "", reason: "todo")
    }
}
