import CVulkan

/// Heap copies of Vulkan structs linked through their `pNext` fields, for queries and create-infos
/// whose chain depends on what the device has (nested `withUnsafeMutablePointer` cannot be conditional).
/// The pointers stay valid as long as the chain; read results back through the pointers `append` returns.
final class PNextChain {
    private var storage: [UnsafeMutableRawPointer] = []
    /// The first struct of the chain, for the parent's `pNext`.
    private(set) var head: UnsafeMutableRawPointer?

    /// Appends a zero-initialised `T` with its `sType` set, at the front of the chain; fill in or
    /// read its fields through the returned pointer.
    @discardableResult
    func append<T>(_: T.Type, sType: VkStructureType) -> UnsafeMutablePointer<T> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.size)
        storage.append(raw)
        let typed = raw.bindMemory(to: T.self, capacity: 1)
        // Every Vulkan extension struct starts like VkBaseOutStructure: sType, then pNext. Raw stores
        // write them without claiming the memory holds a VkBaseOutStructure.
        raw.storeBytes(of: sType, as: VkStructureType.self)
        raw.storeBytes(of: head, toByteOffset: Self.pNextOffset, as: UnsafeMutableRawPointer?.self)
        head = raw
        return typed
    }

    private static let pNextOffset = MemoryLayout<VkBaseOutStructure>.offset(of: \.pNext)!

    deinit {
        // Vulkan structs are trivial types: no deinitialisation needed before freeing.
        for pointer in storage { pointer.deallocate() }
    }
}

/// A Swift String from a fixed-size C char array imported as a tuple (deviceName, extensionName, …).
func string<T>(fromCCharTuple tuple: T) -> String {
    withUnsafeBytes(of: tuple) { bytes in
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// The elements of a fixed-size C array imported as a tuple of `Element` (memoryTypes, memoryHeaps, …).
func array<T, Element>(fromTuple tuple: T, of _: Element.Type, count: Int) -> [Element] {
    withUnsafeBytes(of: tuple) { bytes in
        precondition(count * MemoryLayout<Element>.stride <= bytes.count, "tuple holds fewer than \(count) elements")
        return (0..<count).map { bytes.load(fromByteOffset: $0 * MemoryLayout<Element>.stride, as: Element.self) }
    }
}
