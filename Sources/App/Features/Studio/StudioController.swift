import Domain
import Fluent
import Foundation
import Imaging
import Persistence
import Vapor

/// The studio (write a prompt, see your latest generations), one generation's page, and the
/// gallery. Pages render on the server; `Public/js/generation.js` follows progress live.
enum StudioController {
    @Sendable static func form(req: Request) async throws -> View {
        let user = try req.requireUser()
        // `?from=<generation>`: the form filled in with that generation's settings ("use again").
        guard let from = try? req.query.get(UUID.self, at: "from"),
            let original = try await GenerationStore.find(from, of: user.id, on: req.db),
            let key = try await req.pictor.contentKeys.existingKey(for: user.id, on: req.db)
        else { return try await render(try await page(req, user: user, model: nil), req: req) }
        let prompts = try? key.prompts(of: original)
        let settings = StudioForm(
            prompt: prompts?.prompt ?? "", negativePrompt: prompts?.negative ?? "", model: original.model,
            size: ImageSize(width: original.width, height: original.height).description, count: String(original.count),
            seed: String(original.seed), style: original.style)
        return try await render(try await refilled(req, user: user, form: settings), req: req)
    }

    @Sendable static func submit(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let form = try req.content.decode(StudioForm.self)
        var submission = form.submission(models: req.pictor.models)
        // Reference images come with the form; they are stored (checked, cleaned, sealed) first
        // and removed again if the request is refused, so a refused form leaves nothing behind.
        var stored: [ReferenceImageModel] = []
        do {
            let files = (form.references ?? []).filter { $0.data.readableBytes > 0 }
            guard files.count <= GenerationService.maxReferenceImages else {
                throw GenerationInputError(fieldErrors: [
                    FieldError(field: "references", message: "Choose at most \(GenerationService.maxReferenceImages) reference images.")
                ])
            }
            try GenerationService.checkFields(submission, uploadedReferences: files.count, app: req.application)
            for file in files {
                do {
                    stored.append(try await ReferenceImagesAPI.store(Data(file.data.readableBytesView), user: user.id, req: req))
                } catch let error as ImagingError {
                    throw GenerationInputError(fieldErrors: [FieldError(field: "references", message: "\(file.filename): \(error.userMessage)")])
                } catch ReferenceImagesAPI.UploadError.tooMany {
                    throw GenerationInputError(fieldErrors: [
                        FieldError(field: "references", message: ReferenceImagesAPI.UploadError.tooMany.userMessage)
                    ])
                }
            }
            submission.referenceIDs = stored.map { $0.id! }
            // Uploaded with this request, they are attached to the generation in its transaction:
            // they go when it is deleted for good.
            let submitted = try await GenerationService.submit(
                submission, user: user.id, attachingReferences: true, app: req.application, on: req.db)
            return req.redirect(to: SiteURL.generationPage.path(generation: submitted.generation.id!))
        } catch {
            // Whatever went wrong, nothing uploaded with a refused form is kept.
            for row in stored { try? await ReferenceImagesAPI.remove(row, req: req) }
            switch error {
            case let error as any UserFacingError where error is CreditsError || error is TooManyActiveGenerations:
                // Not enough credits, or too many generations waiting: the form comes back as it
                // was, with the reason above it (402 or 429).
                var page = try await refilled(req, user: user, form: form)
                if error is CreditsError { page.creditsError = error.userMessage } else { page.formError = error.userMessage }
                if !stored.isEmpty { page.referencesError = "Choose the reference images again." }
                return try await render(page, req: req).encodeResponse(status: ErrorResponse.status(for: error.kind), for: req)
            case let error as GenerationInputError:
                var page = try await refilled(req, user: user, form: form)
                page.show(error.fieldErrors)
                if !stored.isEmpty || page.referencesError != nil {
                    page.referencesError = (page.referencesError.map { $0 + " " } ?? "") + "Choose the reference images again."
                }
                return try await render(page, req: req).encodeResponse(status: .badRequest, for: req)
            default:
                throw error
            }
        }
    }

    /// The studio with a form's values filled in (posted back, or a generation's for "use again").
    private static func refilled(_ req: Request, user: CurrentUser, form: StudioForm) async throws -> StudioPage {
        var page = try await page(req, user: user, model: form.model)
        page.prompt = form.prompt ?? ""
        page.negativePrompt = form.negativePrompt ?? ""
        page.seed = form.seed ?? ""
        page.sizes = reselect(page.sizes, form.size)
        page.counts = reselect(page.counts, form.count)
        page.styles = reselect(page.styles, form.style)
        return page
    }

    /// The most parts a studio form has: its eight fields and the reference images, with room
    /// for a browser's empty file part.
    static let maxFormParts = 8 + GenerationService.maxReferenceImages + 4

    /// Largest studio form: the reference images at their size limit, plus the text fields.
    static func maxBody(_ config: AppConfig) -> ByteCount {
        ByteCount(value: GenerationService.maxReferenceImages * config.imageLimits.maxBytes + 256 * 1024)
    }

    // MARK: - Helpers

    private static func render(_ page: StudioPage, req: Request) async throws -> View {
        try await req.view.render("studio/studio", page)
    }

    private static func page(_ req: Request, user: CurrentUser, model: String?) async throws -> StudioPage {
        let catalog = req.pictor.models
        let entry = model.flatMap { catalog.entry($0) } ?? catalog.defaultEntry
        let sizes = entry.capabilities.sizes
        let preferred = sizes.first { $0.width == 1024 && $0.height == 1024 } ?? sizes[0]
        var page = StudioPage(
            layout: .make(for: req, title: "Studio"), csrf: req.csrfToken,
            models: catalog.entries.map {
                .init(
                    value: $0.id, label: "\($0.displayName) · \($0.pricePerImage) credit\($0.pricePerImage == 1 ? "" : "s") per image",
                    selected: $0.id == entry.id)
            },
            sizes: sizes.map { .init(value: $0.description, label: sizeLabel($0), selected: $0 == preferred) },
            styles: [.init(value: "", label: "No style", selected: true)]
                + entry.styles.map { .init(value: $0, label: $0.capitalized, selected: false) },
            counts: (1...entry.capabilities.maxCount).map { .init(value: String($0), label: String($0), selected: $0 == 1) },
            maxPromptLength: entry.capabilities.maxPromptLength, pricePerImage: entry.pricePerImage, modelName: entry.displayName)
        page.maxReferenceMegabytes = max(req.pictor.config.imageLimits.maxBytes / 1_048_576, 1)
        page.available = try await LedgerStore.balance(of: user.id, on: req.db).available
        page.modelOptionsJSON = modelOptionsJSON(catalog)
        page.recent = try await GenerationsAPI.listing(of: user.id, after: nil, limit: 8, req: req).map { generation in
            Recent(
                href: SiteURL.generationPage.path(generation: generation.id),
                reuse: SiteURL.studio.path + "?from=" + generation.id.uuidString.lowercased(),
                prompt: generation.prompt, status: generation.status,
                thumbnail: generation.images.first?.thumbnailUrl,
                active: GenerationState(rawValue: generation.status)?.isFinal == false)
        }
        page.hasRecent = !page.recent.isEmpty
        return page
    }

    private typealias Recent = StudioPage.Recent

    /// What the form offers for each model, as `js/studio.js` reads it.
    struct ModelOptions: Encodable {
        let name: String
        let price: Int
        let sizes: [PageOption]
        let counts: Int
        let styles: [PageOption]
    }

    static func modelOptionsJSON(_ catalog: ModelCatalog) -> String {
        let options = Dictionary(
            uniqueKeysWithValues: catalog.entries.map { entry in
                let sizes = entry.capabilities.sizes
                let preferred = sizes.first { $0.width == 1024 && $0.height == 1024 } ?? sizes[0]
                return (
                    entry.id,
                    ModelOptions(
                        name: entry.displayName, price: entry.pricePerImage,
                        sizes: sizes.map { PageOption(value: $0.description, label: sizeLabel($0), selected: $0 == preferred) },
                        counts: entry.capabilities.maxCount,
                        styles: [PageOption(value: "", label: "No style", selected: true)]
                            + entry.styles.map { PageOption(value: $0, label: $0.capitalized, selected: false) })
                )
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(options)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The same options with `value` selected (when it is one of them).
    private static func reselect(_ options: [PageOption], _ value: String?) -> [PageOption] {
        guard let value, options.contains(where: { $0.value == value }) else { return options }
        return options.map { PageOption(value: $0.value, label: $0.label, selected: $0.value == value) }
    }

    static func sizeLabel(_ size: ImageSize) -> String {
        let shape = size.width == size.height ? "Square" : size.width > size.height ? "Landscape" : "Portrait"
        return "\(shape) \(size.width) × \(size.height)"
    }

}

/// The studio form as posted (every field a string, so problems are reported per field).
struct StudioForm: Content {
    var prompt: String?
    var negativePrompt: String?
    var model: String?
    var size: String?
    var count: String?
    var seed: String?
    var style: String?
    /// `references[]`: reference images chosen in the form (multipart).
    var references: [File]?

    func submission(models: ModelCatalog) -> GenerationSubmission {
        let parsed = ImageSize(text: size ?? "")
        let seedText = (seed ?? "").trimmingCharacters(in: .whitespaces)
        let seedValue = UInt64(seedText)
        return GenerationSubmission(
            draft: GenerationDraft(
                prompt: prompt ?? "", negativePrompt: negativePrompt ?? "",
                width: parsed?.width ?? 0, height: parsed?.height ?? 0,
                count: Int(count ?? "1") ?? 0, seed: seedValue, style: style ?? ""),
            model: model.flatMap { $0.isEmpty ? nil : $0 }, referenceIDs: [],
            seedIsInvalid: !seedText.isEmpty && seedValue == nil, idempotencyKey: nil)
    }
}
