import Domain

/// A state column's value written into SQL text as a literal (`'queued'`), from its enum: the
/// statement's text (and its plan) stays as it was, and no state is spelled as a bare string.
/// Raw values are constants of the enums, never input.
protocol StateLiteral: RawRepresentable where RawValue == String {}

extension StateLiteral {
    var sql: String { "'" + rawValue + "'" }
}

extension JobState: StateLiteral {}
extension GenerationState: StateLiteral {}
extension AccountStatus: StateLiteral {}
extension OrderState: StateLiteral {}
extension RefundRequestState: StateLiteral {}
