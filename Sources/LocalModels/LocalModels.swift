public enum LocalModelsInfo { public static let engines: [String] = [] }
