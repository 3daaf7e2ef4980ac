import VKQ

/// What the converter needs to know about one model family beyond its key map: how to resolve the
/// config the runtime needs, and which canonical tensors (with shapes) that config implies.
public protocol FamilySpec: Sendable {
    /// The key map file under converters/ (without `.json`).
    var keyMapName: String { get }
    /// `family` written into the .vkq header, given the resolved config.
    func family(config: JSONValue) -> String
    /// The config, from config files / checkpoint metadata and the canonical tensors' shapes.
    func resolveConfig(configs: [JSONValue], metadata: [String: String], shapeOf: (String) -> [Int]?, names: Set<String>) throws -> JSONValue
    /// Every tensor the runtime expects for `config`.
    func expectedTensors(config: JSONValue, keyMap: KeyMap, names: Set<String>) throws -> [ExpectedTensor]
}

/// Sizes for shape templates: every integer field of a config object.
func integerFields(_ config: JSONValue) -> [String: Int] {
    (config.objectValue ?? [:]).compactMapValues(\.intValue)
}

/// Integers from a JSON array, or nil.
func integers(_ value: JSONValue?) -> [Int]? {
    value?.arrayValue.flatMap { array in
        let ints = array.compactMap(\.intValue)
        return ints.count == array.count ? ints : nil
    }
}
