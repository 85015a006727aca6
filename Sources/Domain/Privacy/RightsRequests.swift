/// A privacy rights request: what a person asks for, where it stands, and what it may become.
public enum RightsRequestKind: String, Sendable, Codable, CaseIterable {
    /// A copy of their data (access and portability).
    case access
    case correction
    case deletion
    /// Restriction of, or objection to, a use of their data.
    case restriction
    case consentWithdrawal = "consent_withdrawal"
    /// Opt-out of the sale or sharing of personal information (no verification needed).
    case optOut = "opt_out"
    /// An appeal of a denied request (its own clock).
    case appeal

    public var label: String {
        switch self {
        case .access: "Copy of your data"
        case .correction: "Correction"
        case .deletion: "Deletion"
        case .restriction: "Restriction or objection"
        case .consentWithdrawal: "Consent withdrawn"
        case .optOut: "Opt-out of sale or sharing"
        case .appeal: "Appeal"
        }
    }
}

/// Where a request stands (the states Fides uses).
public enum RightsRequestState: String, Sendable, Codable, CaseIterable {
    case identityUnverified = "identity_unverified"
    case pending, approved, denied
    case inProcessing = "in_processing"
    case complete, cancelled, error

    /// The moves a request may make; anything else is refused.
    public func canMove(to next: RightsRequestState) -> Bool {
        switch (self, next) {
        case (.identityUnverified, .pending), (.identityUnverified, .cancelled), (.identityUnverified, .error): true
        case (.pending, .approved), (.pending, .denied), (.pending, .cancelled), (.pending, .inProcessing), (.pending, .complete): true
        case (.approved, .inProcessing), (.approved, .complete), (.approved, .error): true
        case (.inProcessing, .complete), (.inProcessing, .error): true
        case (.error, .pending): true  // staff try again
        default: false
        }
    }

    public var isFinal: Bool { [.denied, .complete, .cancelled].contains(self) }

    public var label: String {
        switch self {
        case .identityUnverified: "Waiting for you to confirm it is you"
        case .pending: "Received"
        case .approved: "Approved"
        case .denied: "Denied"
        case .inProcessing: "In progress"
        case .complete: "Done"
        case .cancelled: "Cancelled"
        case .error: "Delayed by a problem on our side"
        }
    }
}

/// How a request reached Pictor.
public enum RightsRequestChannel: String, Sendable, Codable, CaseIterable {
    case centre
    case publicForm = "public_form"
    /// Sent by the browser: Global Privacy Control (`Sec-GPC: 1`).
    case globalPrivacyControl = "gpc"
    case staff
}

/// A use of a person's data they have objected to or restricted. Code paths that would make that
/// use check it first (`PrivacyRestrictionStore.has`).
public enum ProcessingRestriction: String, Sendable, Codable, CaseIterable {
    /// No person at the operator looks at their prompts or images to improve the service.
    case manualReview = "manual_review"
    /// Their prompts and images are never used to improve (train or tune) a model.
    case modelImprovement = "model_improvement"
    /// Their personal information is not sold or shared (CCPA/CPRA opt-out).
    case saleOrSharing = "sale_sharing"

    public var label: String {
        switch self {
        case .manualReview: "No one at the operator looks at my prompts and images to improve the service"
        case .modelImprovement: "My prompts and images are never used to improve an AI model"
        case .saleOrSharing: "Do not sell or share my personal information"
        }
    }
}
