import Domain
import Foundation
import Vapor

/// `studio/studio.leaf`: the prompt form and the person's latest generations.
struct StudioPage: Encodable {
    struct Recent: Encodable {
        let href: String
        /// The form filled in with this generation's settings.
        let reuse: String
        let prompt: String
        let status: String
        let thumbnail: String?
        let active: Bool
    }

    let layout: LayoutContext
    let csrf: String
    var models: [PageOption]
    var sizes: [PageOption]
    var styles: [PageOption]
    var counts: [PageOption]
    let maxPromptLength: Int
    let pricePerImage: Int
    /// The person's available credits: the cost line says what the balance will be.
    var available = 0 {
        didSet { availableText = available == 1 ? "1 credit" : "\(available) credits" }
    }
    private(set) var availableText = "0 credits"
    let modelName: String
    /// Every model's sizes, counts, styles and price (JSON, for `js/studio.js` to switch the
    /// form's options when another model is picked; without the script the server re-renders them).
    var modelOptionsJSON = "{}"
    var prompt = ""
    var negativePrompt = ""
    var seed = ""
    var promptError: String?
    var negativePromptError: String?
    var modelError: String?
    var sizeError: String?
    var countError: String?
    var seedError: String?
    var styleError: String?
    var referencesError: String?
    /// A problem with the request as a whole (too many waiting), shown above the form.
    var formError: String?
    /// Not enough credits: shown next to the Generate button, with a link to buy more.
    var creditsError: String?
    var hasErrors = false
    let maxReferences = GenerationService.maxReferenceImages
    var maxReferenceMegabytes = 0
    var recent: [Recent] = []
    var hasRecent = false

    /// Puts each field's message next to its field.
    mutating func show(_ errors: [FieldError]) {
        for error in errors {
            switch error.field {
            case "prompt": promptError = promptError ?? error.message
            case "negativePrompt": negativePromptError = negativePromptError ?? error.message
            case "model": modelError = modelError ?? error.message
            case "size": sizeError = sizeError ?? error.message
            case "count": countError = countError ?? error.message
            case "seed": seedError = seedError ?? error.message
            case "style": styleError = styleError ?? error.message
            case "referenceImageIds", "references": referencesError = referencesError ?? error.message
            default: promptError = promptError ?? error.message
            }
        }
        hasErrors = !errors.isEmpty
    }
}
