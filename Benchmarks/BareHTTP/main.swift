// jamey-bare-http: a bare Hummingbird server answering fixed bytes, the baseline of
// scripts/bench-api.sh. Each `--route PATH=FILE[=CONTENT-TYPE]` serves FILE's bytes for GET PATH
// (a `{param}` segment matches anything); each `--header 'NAME: VALUE'` is added to every response,
// so the baseline can send the same header bytes as the server it is compared with.
//
//   jamey-bare-http --port 8081 --route /healthz=healthz.json --route '/v1/hello/{name}=hello.json'
//
// `--conscience PATH` also answers POST PATH with the conscience's evaluation of `{"text": ...}`
// (ConscienceCore with the default rules, JSON in and out as the conscience plugin does): the
// same work as `POST /v1/conscience/evaluate` through the gateway, without Jamey
// (scripts/bench-consciousness.sh).
import ConscienceCore
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

var port = 8081
var routes: [(path: String, body: ByteBuffer, type: String)] = []
var extraHeaders = HTTPFields()
var consciencePath: String?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--port":
        port = Int(arguments.popFirst() ?? "") ?? port
    case "--route":
        let parts = (arguments.popFirst() ?? "").split(separator: "=", maxSplits: 2).map(String.init)
        guard parts.count >= 2, let data = FileManager.default.contents(atPath: parts[1]) else {
            FileHandle.standardError.write(Data("bad --route: expected PATH=FILE[=CONTENT-TYPE]\n".utf8))
            exit(2)
        }
        routes.append((parts[0], ByteBuffer(bytes: data), parts.count > 2 ? parts[2] : "application/json"))
    case "--conscience":
        consciencePath = arguments.popFirst()
    case "--header":
        let text = arguments.popFirst() ?? ""
        guard let colon = text.firstIndex(of: ":"), let name = HTTPField.Name(String(text[..<colon])) else {
            FileHandle.standardError.write(Data("bad --header: expected 'NAME: VALUE'\n".utf8))
            exit(2)
        }
        extraHeaders.append(HTTPField(name: name, value: text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
    default:
        FileHandle.standardError.write(
            Data("usage: jamey-bare-http [--port N] [--route PATH=FILE[=TYPE]]... [--header 'NAME: VALUE']...\n".utf8))
        exit(2)
    }
}

let router = Router()
for route in routes {
    let body = route.body
    let type = route.type
    let path = RouterPath(route.path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: ""))
    var fields: HTTPFields = [.contentType: type]
    fields.append(contentsOf: extraHeaders)
    let headers = fields
    router.get(path) { _, _ in
        Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }
}
if let consciencePath {
    struct Request: Decodable { var text: String }
    let engine = Mutex(ConscienceEngine(rules: DefaultRules.all))
    var fields: HTTPFields = [.contentType: "application/json"]
    fields.append(contentsOf: extraHeaders)
    let headers = fields
    router.post(RouterPath(consciencePath)) { request, _ in
        let body = try await request.body.collect(upTo: 1 << 20)
        let text = try JSONDecoder().decode(Request.self, from: body).text
        let evaluation = try engine.withLock { engine in try engine.evaluate(text) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(evaluation))))
    }
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil))
try await app.runService()
