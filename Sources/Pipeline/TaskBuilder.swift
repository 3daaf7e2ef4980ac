/// Builds the Video Condition Unit of each task from the decoded inputs (ali-vilab/VACE and Wan2.1
/// `WanVace.prepare_source`; VACE paper Table 1):
///
/// | task     | frames                         | mask                         |
/// |----------|--------------------------------|------------------------------|
/// | t2v, r2v | zeros                          | ones                         |
/// | v2v      | the control video              | ones, or the given mask      |
/// | inpaint  | the source video, as given     | the given mask               |
/// | outpaint | source on a grey larger canvas | 1 on the added canvas        |
/// | extend   | given frames, 0 elsewhere      | 0 on given frames, 1 elsewhere |
///
/// Reference images (`--ref`, any task) are fitted onto the output size by `ReferenceFit`.
public enum TaskBuilder {
    /// The most reference images a run takes (the Wan VACE demo offers three).
    public static let maxReferences = 3
    /// PIL's 'gray' (128) in [−1, 1]: the outpainting annotator's canvas colour.
    static let outpaintGrey: Float = 128 / 127.5 - 1

    public static func build(_ task: VACETask, _ inputs: TaskInputs, grid: Int = 16, temporalFactor: Int = 4) throws -> VideoConditionUnit {
        let name = task.rawValue
        guard inputs.references.count <= maxReferences else {
            throw PipelineError.invalidOption(flag: "--ref", reason: "at most \(maxReferences) reference images, got \(inputs.references.count)")
        }
        if inputs.mask != nil && inputs.video == nil {
            // The original drops such a mask silently; a user who gave one meant something by it.
            throw PipelineError.missingInput(task: name, flag: "--video", reason: "--mask was given without a video to apply it to")
        }
        if task != .outpaint && inputs.outpaint != nil { throw PipelineError.invalidOption(flag: "--outpaint", reason: "only applies to --task outpaint") }
        if task != .extend && inputs.extend != nil { throw PipelineError.invalidOption(flag: "--extend", reason: "only applies to --task extend") }

        var unit: VideoConditionUnit
        switch task {
        case .t2v, .r2v:
            if task == .r2v && inputs.references.isEmpty {
                throw PipelineError.missingInput(task: name, flag: "--ref", reason: "give 1 to \(maxReferences) reference images")
            }
            if inputs.video != nil {
                throw PipelineError.invalidOption(flag: "--video", reason: "--task \(name) takes no video (use v2v, inpaint, outpaint or extend)")
            }
            try checkGrid(width: inputs.width, height: inputs.height, frames: inputs.frames, grid: grid, temporalFactor: temporalFactor)
            unit = VideoConditionUnit(frames: PixelVideo(width: inputs.width, height: inputs.height, frames: inputs.frames, constant: 0),
                                      mask: PixelMask(width: inputs.width, height: inputs.height, frames: inputs.frames, constant: 1))
        case .v2v, .inpaint:
            let video = try required(inputs.video, task: name, flag: "--video", reason: "the \(task == .v2v ? "control" : "source") video")
            let mask: PixelMask
            if let given = inputs.mask {
                try checkMask(given, against: video)
                // One mask image applies to every frame.
                mask = given.frames == video.frames ? given
                    : PixelMask(width: given.width, height: given.height, frames: video.frames,
                                values: Array([[Float]](repeating: given.values, count: video.frames).joined()))
            } else if task == .inpaint {
                throw PipelineError.missingInput(task: name, flag: "--mask", reason: "the mask video or image (white = regenerate)")
            } else {
                mask = PixelMask(width: video.width, height: video.height, frames: video.frames, constant: 1)
            }
            try checkGrid(width: video.width, height: video.height, frames: video.frames, grid: grid, temporalFactor: temporalFactor)
            unit = VideoConditionUnit(frames: video, mask: mask)
        case .outpaint:
            let video = try required(inputs.video, task: name, flag: "--video", reason: "the source video")
            let margins = try required(inputs.outpaint, task: name, flag: "--outpaint", reason: "LEFT,RIGHT,TOP,BOTTOM fractions")
            if inputs.mask != nil { throw PipelineError.invalidOption(flag: "--mask", reason: "--task outpaint builds its own mask") }
            unit = outpaint(video, margins, grid: grid)
            try checkGrid(width: unit.width, height: unit.height, frames: video.frames, grid: grid, temporalFactor: temporalFactor)
        case .extend:
            let video = try required(inputs.video, task: name, flag: "--video", reason: "the frames (or image) to extend from")
            let mode = try required(inputs.extend, task: name, flag: "--extend", reason: "first, last, both or clip")
            if inputs.mask != nil { throw PipelineError.invalidOption(flag: "--mask", reason: "--task extend builds its own mask") }
            try checkGrid(width: video.width, height: video.height, frames: inputs.frames, grid: grid, temporalFactor: temporalFactor)
            unit = try extend(video, mode, frames: inputs.frames)
        }
        unit.references = inputs.references.map { ReferenceFit.letterbox($0, width: unit.width, height: unit.height) }
        return unit
    }

    /// The OutpaintingAnnotator of ali-vilab/VACE (`vace/annotators/outpainting.py`, video config:
    /// MASK_COLOR 'gray', no blur): `left = int(l·W)` …, the canvas rounded up to the grid (the
    /// annotator's KEEP_PADDING_RATIO; the model's 16 here so that no resize follows), the rounding
    /// spread over the sides as the annotator does, the source pasted at (left, top).
    static func outpaint(_ video: PixelVideo, _ m: OutpaintMargins, grid: Int) -> VideoConditionUnit {
        let (w, h) = (video.width, video.height)
        var left = Int(m.left * Double(w)), right = Int(m.right * Double(w))
        var top = Int(m.top * Double(h)), bottom = Int(m.bottom * Double(h))
        let width = (w + left + right + grid - 1) / grid * grid
        let height = (h + top + bottom + grid - 1) / grid * grid
        if left > 0 { left = left * (width - w) / (left + right) }
        if right > 0 { right = width - w - left }
        if top > 0 { top = top * (height - h) / (top + bottom) }
        if bottom > 0 { bottom = height - h - top }
        _ = (right, bottom)
        var frames = PixelVideo(width: width, height: height, frames: video.frames, constant: outpaintGrey)
        var mask = PixelMask(width: width, height: height, frames: video.frames, constant: 1)
        for c in 0 ..< 3 {
            for t in 0 ..< video.frames {
                for y in 0 ..< h {
                    let src = ((c * video.frames + t) * h + y) * w
                    let dst = ((c * video.frames + t) * height + y + top) * width + left
                    for x in 0 ..< w { frames.values[dst + x] = video.values[src + x] }
                    if c == 0 { for x in 0 ..< w { mask.values[(t * height + y + top) * width + left + x] = 0 } }
                }
            }
        }
        return VideoConditionUnit(frames: frames, mask: mask)
    }

    /// The FrameRefExpandAnnotator of ali-vilab/VACE (`vace/annotators/frameref.py`): the kept frames
    /// with mask 0, every other frame filled with 127.5 (0 in [−1, 1]) with mask 1, `frames` in all.
    static func extend(_ video: PixelVideo, _ mode: ExtendMode, frames total: Int) throws -> VideoConditionUnit {
        let (w, h) = (video.width, video.height)
        let kept: [PixelVideo]
        switch mode {
        case .first: kept = [video.frames(0 ..< 1)]
        case .last: kept = [video.frames(video.frames - 1 ..< video.frames)]
        case .both: kept = [video.frames(0 ..< 1), video.frames(video.frames - 1 ..< video.frames)]
        case .clip: kept = [video]
        }
        let given = kept.reduce(0) { $0 + $1.frames }
        guard given < total else {
            throw PipelineError.invalidOption(flag: "--frames", reason: "--extend \(mode.rawValue) keeps \(given) given frames; ask for more than that (got \(total))")
        }
        let fill = PixelVideo(width: w, height: h, frames: total - given, constant: 0)
        let fillMask = PixelMask(width: w, height: h, frames: total - given, constant: 1)
        func keptMask(_ n: Int) -> PixelMask { PixelMask(width: w, height: h, frames: n, constant: 0) }
        switch mode {
        case .first, .clip:
            return VideoConditionUnit(frames: .concatenated([kept[0], fill]), mask: .concatenated([keptMask(kept[0].frames), fillMask]))
        case .last:
            return VideoConditionUnit(frames: .concatenated([fill, kept[0]]), mask: .concatenated([fillMask, keptMask(1)]))
        case .both:
            return VideoConditionUnit(frames: .concatenated([kept[0], fill, kept[1]]), mask: .concatenated([keptMask(1), fillMask, keptMask(1)]))
        }
    }

    static func required<T>(_ value: T?, task: String, flag: String, reason: String) throws -> T {
        guard let value else { throw PipelineError.missingInput(task: task, flag: flag, reason: reason) }
        return value
    }

    static func checkMask(_ mask: PixelMask, against video: PixelVideo) throws {
        guard mask.width == video.width, mask.height == video.height else {
            throw PipelineError.mismatch("--mask is \(mask.width)×\(mask.height) but --video is \(video.width)×\(video.height) (--mask-resize scales the mask to the video)")
        }
        guard mask.frames == video.frames || mask.frames == 1 else {
            throw PipelineError.mismatch("--mask has \(mask.frames) frames but --video has \(video.frames) (give one mask image, or a mask of the same length)")
        }
    }

    /// The model's grid: sides multiples of 16 (VAE 8 × patch 2), T = 4k + 1 frames.
    public static func checkGrid(width: Int, height: Int, frames: Int, grid: Int = 16, temporalFactor: Int = 4) throws {
        guard width >= grid, height >= grid, width % grid == 0, height % grid == 0 else {
            throw PipelineError.invalidOption(flag: "--size", reason: "\(width)x\(height): width and height must be positive multiples of \(grid)")
        }
        guard frames >= 1, (frames - 1) % temporalFactor == 0 else {
            throw PipelineError.invalidOption(flag: "--frames", reason: "\(frames): the frame count must be \(temporalFactor)k + 1 (1, 5, 9, …, 81)")
        }
    }
}
