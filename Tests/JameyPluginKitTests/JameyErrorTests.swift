import CJameyABI
import JameyPluginKit
import Testing

/// Every error code of the C ABI has a named Swift code, and the two map onto each other.
@Suite struct JameyErrorTests {
    static let named: [(abi: Int32, code: JameyError.Code, name: String)] = [
        (JAMEY_E_INVALID, .invalid, "invalid"),
        (JAMEY_E_NOT_FOUND, .notFound, "notFound"),
        (JAMEY_E_TIMEOUT, .timeout, "timeout"),
        (JAMEY_E_EXISTS, .exists, "exists"),
        (JAMEY_E_NOMEM, .noMemory, "noMemory"),
        (JAMEY_E_STATE, .state, "state"),
        (JAMEY_E_VERSION, .version, "version"),
        (JAMEY_E_FULL, .full, "full"),
        (JAMEY_E_NO_RESPONDERS, .noResponders, "noResponders"),
        (JAMEY_E_PLUGIN, .plugin, "plugin"),
        (JAMEY_E_UNSUPPORTED, .unsupported, "unsupported"),
        (JAMEY_E_SHUTDOWN, .shutdown, "shutdown"),
        (JAMEY_E_TYPE, .type, "type"),
    ]

    @Test func everyABICode_mapsToItsNamedCode_andBack() {
        for entry in Self.named {
            #expect(JameyError.Code(abiValue: entry.abi) == entry.code, "\(entry.name)")
            #expect(entry.code.abiValue == entry.abi, "\(entry.name)")
            #expect(entry.code.description == entry.name)
        }
    }

    @Test func namedCodes_areDistinct() {
        #expect(Set(Self.named.map(\.code)).count == Self.named.count)
        #expect(Set(Self.named.map(\.abi)).count == Self.named.count)
    }

    /// The header's codes run from -1 down without gaps; a code added to the header and not to
    /// the kit shows up here as an unknown value.
    @Test func theHeadersCodes_areAllNamed() {
        let lowest = Self.named.map(\.abi).min() ?? 0
        #expect(lowest == -Int32(Self.named.count))
        #expect(JAMEY_E_TYPE == lowest)
    }

    @Test func unknownCode_keepsItsValue() {
        let code = JameyError.Code(abiValue: -99)
        #expect(code.abiValue == -99)
        #expect(code.description == "error -99")
        #expect(!Self.named.contains { $0.code == code })
    }

    @Test func pluginError_hasCodePlugin_andItsMessage() {
        let error = JameyError("the widget is broken")
        #expect(error.code == .plugin)
        #expect(error.message == "the widget is broken")
        #expect("\(error)" == "the widget is broken")
        #expect(PluginKitError("x") == JameyError(.plugin, "x"))
    }

    @Test func codes_matchInSwitchAndCatch() {
        func kind(_ error: any Error) -> String {
            switch error {
            case let e as JameyError where e.code == .noResponders: "none"
            case let e as JameyError:
                switch e.code {
                case .timeout: "slow"
                case .full: "busy"
                default: "other"
                }
            default: "foreign"
            }
        }
        #expect(kind(JameyError(.noResponders, "")) == "none")
        #expect(kind(JameyError(.timeout, "")) == "slow")
        #expect(kind(JameyError(.full, "")) == "busy")
        #expect(kind(JameyError(.state, "")) == "other")
        #expect(kind(CancellationError()) == "foreign")
    }
}
