import APICore
import Testing

/// Path templates: parsing, matching with decoded parameters, overlap and specificity.
@Suite struct PathTemplateTests {
    private func parts(_ path: String) -> [Substring] {
        path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
    }

    @Test func parse_acceptsLiteralsAndNamedParameters() throws {
        let t = try #require(PathTemplate("/v1/plugins/{name}/items/{item_id}"))
        #expect(t.parameterNames == ["name", "item_id"])
        #expect(t.segments.count == 5)
        #expect(t.description == "/v1/plugins/{name}/items/{item_id}")
    }

    @Test(arguments: [
        "", "/", "v1/x", "/v1//x", "/v1/x/", "/v1/{}", "/v1/{a-b}", "/v1/{a}/{a}", "/v1/x{a}", "/v1/x?y", "/v1/#x",
    ])
    func parse_refusesMalformedTemplates(_ text: String) {
        #expect(PathTemplate(text) == nil)
    }

    @Test func match_returnsDecodedParametersInOrder() throws {
        let t = try #require(PathTemplate("/v1/hello/{name}/{greeting}"))
        let found = try #require(t.match(parts("/v1/hello/Ada%20L/hi%C3%A9")))
        #expect(found.map(\.0) == ["name", "greeting"])
        #expect(found.map(\.1) == ["Ada L", "hié"])
    }

    @Test func match_refusesOtherLiteralsLengthsAndBadEscapes() throws {
        let t = try #require(PathTemplate("/v1/hello/{name}"))
        #expect(t.match(parts("/v1/bye/Ada")) == nil)
        #expect(t.match(parts("/v1/hello")) == nil)
        #expect(t.match(parts("/v1/hello/Ada/x")) == nil)
        #expect(t.match(parts("/v1/hello/")) == nil)
        #expect(t.match(parts("/v1/hello/%zz")) == nil)
        #expect(t.match(parts("/v1/hello/%ff")) == nil)  // not UTF-8
        #expect(t.match(parts("/v1/hello/a%00b")) == nil)  // a NUL would cut the header short
        #expect(t.match(parts("/v1/hello/a%01b"))?.first?.1 == "a\u{1}b")
    }

    @Test func undecodableParameter_namesTheSegmentOnlyWhenTheLiteralsMatch() throws {
        let t = try #require(PathTemplate("/v1/hello/{name}/{part}"))
        #expect(t.undecodableParameter(parts("/v1/hello/x%00/%zz")) == "x%00")
        #expect(t.undecodableParameter(parts("/v1/hello/x/%zz")) == "%zz")
        #expect(t.undecodableParameter(parts("/v1/bye/x%00/y")) == nil)
        #expect(t.undecodableParameter(parts("/v1/hello/x%00")) == nil)
        #expect(t.undecodableParameter(parts("/v1/hello/x/y")) == nil)
    }

    @Test func overlaps_whenSomePathMatchesBoth() throws {
        let a = try #require(PathTemplate("/v1/items/{id}"))
        let b = try #require(PathTemplate("/v1/items/latest"))
        let c = try #require(PathTemplate("/v1/users/{id}"))
        #expect(a.overlaps(b))
        #expect(!b.overlaps(c))
        #expect(!a.overlaps(try #require(PathTemplate("/v1/items"))))
        #expect(b.specificity == [true, true, true])
        #expect(a.specificity == [true, true, false])
    }
}
