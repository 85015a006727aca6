/// One `<option>` of a `<select>` on a page: its value, its label, whether it is chosen.
struct PageOption: Encodable, Equatable {
    let value: String
    let label: String
    let selected: Bool
}
