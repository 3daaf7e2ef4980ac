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

    public init(name: String, shape: Shape, dtype: DType, data: UnsafeRawBufferPointer, scales: UnsafeRawBufferPointer? = nil, owner: AnyObject?) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.data = data
        self.scales = scales
        self.owner = owner
    }
}
