import Tensors

/// A named observation point inside a model's forward pass, for layer-by-layer validation
/// (`vacekit validate --reference DUMP`): the model calls `tap("blocks.3", x)` at each point the
/// reference dump also records (`point.blocks.3`). Free when unused: models check `tap == nil`
/// before doing any work for it, and a tap never changes the computation.
///
/// Point names (without the `point.` prefix of the dump), in execution order:
/// - DiTs: `patch_embedding`, `time_embedding`, `text_embedding`, `vace_blocks.{k}` (hint k before
///   scaling), `blocks.{i}` (main stream after block i, its hint added), `head`.
/// - VAEs: each stage's output (`encoder.down_blocks.{i}`, `encoder.mid`, `decoder.up_blocks.{i}`, ...).
/// - Text encoders: `blocks.{i}`.
public typealias Tap = (_ point: String, _ value: Tensor) throws -> Void
