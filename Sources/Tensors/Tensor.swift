/// Storage a backend owns for one tensor (host memory on the CPU, a device buffer on Vulkan).
/// Models never look inside: they pass tensors back to the backend that made them.
public protocol TensorStorage: AnyObject, Sendable {}

/// A value: shape, element type and a reference to backend storage. Copying a `Tensor` copies the
/// reference, never the data. Activations are contiguous row-major; weights keep the stored layout
/// of the .vkq file (f32, f16, bf16 or q8 + scales).
public struct Tensor: Sendable {
    public let shape: Shape
    public let dtype: DType
    public let storage: any TensorStorage

    public init(shape: Shape, dtype: DType, storage: any TensorStorage) {
        self.shape = shape
        self.dtype = dtype
        self.storage = storage
    }

    public var count: Int { shape.count }
}

/// How a linear meets a q8 weight's input: as the backend chooses (int8 activations, W8A8, where the
/// hardware makes them pay; 16-bit elsewhere), or always at 16 bits (W8A16), for a model whose
/// activations int8 rounding hurts: T5's outlier channels (LLM.int8(), Dettmers et al. 2022) make
/// per-row int8 rounding cost the encoders 4.4-4.8e-2 relative L2 on the fixtures, against 2.8-3.2e-2.
public enum Q8Activations: Sendable {
    case backendChoice
    case sixteenBit
}

/// Weight bytes as stored in a .vkq file, handed to `Backend.weight`. `owner` keeps the memory alive
/// (the memory map or a decompressed buffer); backends may use the bytes in place as long as they
/// hold the owner.
public struct WeightData: @unchecked Sendable {
    public var name: String
    public var shape: Shape
    public var dtype: DType
    public var data: UnsafeRawBufferPointer
    /// q8 only: f16 scales `[rows, columns / group]` (group 0: one per row).
    public var scales: UnsafeRawBufferPointer?
    public var owner: AnyObject?
    /// q8 only: the activations a linear meets this weight with.
    public var q8Activations: Q8Activations = .backendChoice

    public init(name: String, shape: Shape, dtype: DType, data: UnsafeRawBufferPointer, scales: UnsafeRawBufferPointer? = nil, owner: AnyObject?) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.data = data
        self.scales = scales
        self.owner = owner
    }
}
