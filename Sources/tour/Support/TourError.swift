// What an example throws when the machine refuses it something (a pipe, a file).

struct TourError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
