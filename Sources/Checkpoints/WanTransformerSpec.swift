import VKQ

/// Wan2.1 T2V and Wan2.1-VACE transformers (converters/wan2.1-transformer.json).
public struct WanTransformerSpec: FamilySpec {
    public var keyMapName: String { "wan2.1-transformer" }

    public func family(config: JSONValue) -> String {
        config["vace_layers"] == nil ? "wan2.1-t2v" : "wan2.1-vace"
    }

    static func vaceBlockCount(_ names: Set<String>) -> Int {
        names.filter { $0.hasPrefix("vace_blocks.") && $0.hasSuffix(".after_proj.weight") }.count
    }

    public func resolveConfig(configs: [JSONValue], metadata: [String: String], shapeOf: (String) -> [Int]?, names: Set<String>) throws -> JSONValue {
        let vace = Self.vaceBlockCount(names)
        return try WanConfig.resolve(configs: configs, shapeOf: shapeOf, vaceBlockCount: vace, modelType: vace > 0 ? "vace" : "t2v")
    }

    public func expectedTensors(config: JSONValue, keyMap: KeyMap, names: Set<String>) throws -> [ExpectedTensor] {
        let layers = config["num_layers"]?.intValue ?? 0
        let vace = integers(config["vace_layers"])?.count ?? 0
        return try keyMap.expectedTensors(
            sizes: integerFields(config),
            placeholders: [
                "{blocks}": (0 ..< layers).map { "blocks.\($0)" } + (0 ..< vace).map { "vace_blocks.\($0)" },
                "{vace}": (0 ..< vace).map(String.init),
            ],
            features: vace > 0 ? ["vace"] : [])
    }
}
