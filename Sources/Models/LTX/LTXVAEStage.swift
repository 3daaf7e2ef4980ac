import Tensors

/// One entry of an LTX-Video VAE block list, built as the original Encoder / Decoder `__init__` builds
/// it (LTX-Video causal_video_autoencoder.py; `compress_*_res` from the 0.9.5 code, diffusers
/// `LTXVideoDownsampler3d`).
enum LTXStage {
    case res(LTXResStack)
    case widen(LTXResBlock)
    case conv(LTXConv)
    case down(LTXResidualDownsample)
    case up(LTXUpsample)

    static let strides: [String: (Int, Int, Int)] = ["time": (2, 1, 1), "space": (1, 2, 2), "all": (2, 2, 2)]

    /// Encoder stage `name` (`encoder.down_blocks.{i}`); every encoder conv is causal.
    static func encoder(_ block: LTXVAEConfig.Block, _ name: String, _ w: any WeightProvider, _ b: any Backend) throws -> LTXStage {
        switch block.name {
        case "res_x": return .res(try LTXResStack(name, layers: block.numLayers, w, b, causal: true, timestep: false))
        case "res_x_y": return .widen(try LTXResBlock(name, w, b, causal: true, timestep: false))
        case "compress_time", "compress_space", "compress_all", "compress_all_x_y":
            let kind = block.name == "compress_all_x_y" ? "all" : String(block.name.dropFirst("compress_".count))
            return .conv(try LTXConv(name + ".conv", w, b, stride: strides[kind]!, causal: true))
        case "compress_time_res", "compress_space_res", "compress_all_res":
            let stride = strides[String(block.name.dropFirst("compress_".count).dropLast("_res".count))]!
            let conv = try LTXConv(name + ".conv.conv", w, b, causal: true)
            return .down(LTXResidualDownsample(name: name, conv: conv, stride: stride, outChannels: conv.inChannels * (block.multiplier ?? 2)))
        default: throw TensorError("LTXVAE", "\(name): unknown encoder block '\(block.name)'")
        }
    }

    /// Decoder stage `name` (`decoder.up_blocks.{i}`, the block list walked in reverse).
    static func decoder(_ block: LTXVAEConfig.Block, _ name: String, _ w: any WeightProvider, _ b: any Backend, causal: Bool, timestep: Bool) throws -> LTXStage {
        switch block.name {
        case "res_x": return .res(try LTXResStack(name, layers: block.numLayers, w, b, causal: causal, timestep: timestep))
        // The width-changing block is never timestep-conditioned (Decoder.__init__: timestep_conditioning=False).
        case "res_x_y": return .widen(try LTXResBlock(name, w, b, causal: causal, timestep: false))
        case "compress_time", "compress_space", "compress_all":
            let stride = strides[String(block.name.dropFirst("compress_".count))]!
            let conv = try LTXConv(name + ".conv.conv", w, b, causal: causal)
            return .up(LTXUpsample(name: name, conv: conv, stride: stride, residual: block.residual && block.name == "compress_all",
                                   multiplier: block.name == "compress_all" ? block.multiplier ?? 1 : 1))
        default: throw TensorError("LTXVAE", "\(name): unknown decoder block '\(block.name)'")
        }
    }

    func callAsFunction(_ x: Tensor?, last: Bool, _ run: LTXVAERun) throws -> Tensor? {
        switch self {
        case .res(let stack): return try stack(x, last: last, run)
        case .widen(let block): return try block(x, last: last, temb: nil, run)
        case .conv(let conv): return try conv(x, last: last, run.state, on: run.backend)
        case .down(let down): return try down(x, last: last, run)
        case .up(let up): return try up(x, last: last, run)
        }
    }
}
