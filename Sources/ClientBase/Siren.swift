/// The SIREN, a French organisation's 9-digit identifier: its last digit is a Luhn check.
enum Siren {
    static func isValid(_ siren: String) -> Bool {
        let digits = siren.compactMap { $0.isASCIIDigit ? $0.wholeNumberValue : nil }
        guard siren.count == 9, digits.count == 9 else { return false }
        // Luhn: from the right, every second digit is doubled (and 9 taken off past 9).
        var sum = 0
        for (position, digit) in digits.reversed().enumerated() {
            let value = position % 2 == 1 ? digit * 2 : digit
            sum += value > 9 ? value - 9 : value
        }
        return sum % 10 == 0
    }
}
