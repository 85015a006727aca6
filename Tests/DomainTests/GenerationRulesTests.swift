import Domain
import Testing

@Suite struct GenerationRulesTests {
    let capabilities = ProviderCapabilities(
        referenceImages: false, sizes: [ImageSize(width: 512, height: 512), ImageSize(width: 1024, height: 1024)],
        maxCount: 4, negativePrompt: true, seed: true, progress: true, cancel: true, maxPromptLength: 20)

    func check(_ draft: GenerationDraft) -> Result<GenerationRequest, GenerationInputError> {
        GenerationRules.check(draft, capabilities: capabilities, styles: ["mono", "neon"], randomSeed: { 77 })
    }

    @Test func aGoodDraftBecomesARequestWithARandomSeedWhenNoneIsGiven() throws {
        let request = try check(GenerationDraft(prompt: "  a red fox ", width: 512, height: 512, count: 2)).get()
        #expect(request == GenerationRequest(prompt: "a red fox", size: ImageSize(width: 512, height: 512), count: 2, seed: 77))
        #expect(try check(GenerationDraft(prompt: "fox", width: 512, height: 512, seed: 5)).get().seed == 5)
    }

    @Test func everyBadFieldIsNamedWithAMessage() {
        let draft = GenerationDraft(
            prompt: "   ", negativePrompt: String(repeating: "x", count: 21), width: 640, height: 480,
            count: 9, seed: GenerationRules.maxSeed + 1, style: "sepia")
        guard case .failure(let error) = check(draft) else {
            Issue.record("should fail")
            return
        }
        #expect(error.fieldErrors.map(\.field) == ["prompt", "negativePrompt", "size", "count", "seed", "style"])
        #expect(error.fieldErrors[0].message == "Describe the picture you want.")
        #expect(error.fieldErrors[2].message == "This model makes 512x512, 1024x1024; 640x480 is not one of them.")
        #expect(error.fieldErrors[3].message == "Ask for 1 to 4 images.")
        #expect(error.kind == .invalidInput)
    }

    @Test func longPromptsAreRefusedWithTheirLength() {
        guard case .failure(let error) = check(GenerationDraft(prompt: String(repeating: "a", count: 25), width: 512, height: 512)) else {
            Issue.record("should fail")
            return
        }
        #expect(error.fieldErrors == [FieldError(field: "prompt", message: "Use at most 20 characters (this prompt has 25).")])
    }

    /// One visible character with many combining marks is many characters here: a prompt's
    /// size is bounded by the limit, whatever it looks like.
    @Test func combiningMarksCountAsCharacters() {
        let stacked = "e" + String(repeating: "\u{301}", count: 30)  // one grapheme, 31 scalars
        #expect(stacked.count == 1)
        guard case .failure(let error) = check(GenerationDraft(prompt: stacked, negativePrompt: stacked, width: 512, height: 512)) else {
            Issue.record("should fail")
            return
        }
        #expect(error.fieldErrors.map(\.field) == ["prompt", "negativePrompt"])
        #expect(error.fieldErrors[0].message == "Use at most 20 characters (this prompt has 31).")
        // Emoji made of several scalars count each of them; within the limit they pass.
        #expect((try? check(GenerationDraft(prompt: "a 🦊 in snow", width: 512, height: 512)).get()) != nil)
    }

    @Test func modelsWithoutNegativePromptsSaySo() {
        var plain = capabilities
        plain.negativePrompt = false
        let result = GenerationRules.check(
            GenerationDraft(prompt: "fox", negativePrompt: "blur", width: 512, height: 512),
            capabilities: plain, styles: [], randomSeed: { 1 })
        guard case .failure(let error) = result else {
            Issue.record("should fail")
            return
        }
        #expect(error.fieldErrors.first?.field == "negativePrompt")
    }

    @Test func lifecycleMoves() {
        #expect(GenerationState.queued.canMove(to: .running))
        #expect(GenerationState.running.canMove(to: .blocked))
        #expect(!GenerationState.succeeded.canMove(to: .running))
        #expect(!GenerationState.cancelled.canMove(to: .succeeded))
        #expect(!GenerationState.queued.canMove(to: .succeeded), "nothing succeeds without running")
        #expect(GenerationState.allCases.filter(\.isFinal) == [.succeeded, .failed, .blocked, .cancelled])
    }
}
