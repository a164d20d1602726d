// The request body: a collection of payloads, each of which becomes one
// upload job. Decoded as leniently as Go's encoding/json decodes the Go
// server's structs: a missing field is empty, an unknown one is ignored; a
// field of the wrong type, or text that is not JSON, is a bad request.

/// One payload of a collection: one job for the dispatcher (in the durable
/// mode, a job whose JSON arguments are `{"data":…,"name":…}`).
public struct Payload: Sendable, Equatable, Codable {
    public var name: String
    public var data: String

    public init(name: String, data: String) {
        self.name = name
        self.data = data
    }

    enum CodingKeys: String, CodingKey { case name, data }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        data = try container.decodeIfPresent(String.self, forKey: .data) ?? ""
    }
}

/// What `POST /payload` carries: `{"version":..., "token":..., "data":[payloads]}`.
public struct PayloadCollection: Sendable, Equatable, Decodable {
    public var version: String
    public var token: String
    public var data: [Payload]

    public init(version: String = "", token: String = "", data: [Payload]) {
        self.version = version
        self.token = token
        self.data = data
    }

    enum CodingKeys: String, CodingKey { case version, token, data }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decodeIfPresent(String.self, forKey: .version) ?? ""
        token = try container.decodeIfPresent(String.self, forKey: .token) ?? ""
        data = try container.decodeIfPresent([Payload].self, forKey: .data) ?? []
    }
}
