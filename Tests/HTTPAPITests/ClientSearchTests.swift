import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Tenancy
import Testing
import TestSupport

/// Filters, sort orders and search of `GET /v1/clients` (issue section 5).
@Suite("Client search and lists")
struct ClientSearchTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    /// Creates the clients and returns their ids by last or organisation name.
    func seed(_ client: any TestClientProtocol, key: String, _ bodies: [String]) async throws -> [String: String] {
        var ids: [String: String] = [:]
        for body in bodies {
            let response = try await client.call(.post, "/v1/clients?allow_duplicate=true", key: key, json: body)
            #expect(response.status == .created, "\(body): \(response.text)")
            let name = (response.json["last_name"] as? String) ?? (response.json["organisation_name"] as? String) ?? ""
            ids[name] = try #require(response.json["id"] as? String)
        }
        return ids
    }

    /// Every id of a list, page after page of `limit`, following `next_cursor` (at most `maximum` ids).
    func pagedIDs(_ client: any TestClientProtocol, key: String, _ path: String, limit: Int, maximum: Int = 10) async throws -> [String] {
        var ids: [String] = []
        var cursor: String?
        repeat {
            let page = try await client.call(.get, "\(path)&limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? ""), key: key)
            #expect(page.status == .ok, "\(path): \(page.text)")
            ids += (page.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            cursor = page.json["next_cursor"] as? String
        } while cursor != nil && ids.count <= maximum
        return ids
    }

    func ids(_ client: any TestClientProtocol, key: String, _ path: String) async throws -> [String] {
        let response = try await client.call(.get, path, key: key)
        #expect(response.status == .ok, "\(path): \(response.text)")
        return (response.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    @Test("filters: kind, category, tags, city, postal-code prefix, consent, seniority; combined with AND")
    func filters() async throws {
        let (key, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let ids = try await seed(client, key: key, [
                #"{"kind": "individual", "last_name": "Petit", "city": "Saint-Étienne", "postal_code": "42000", "tags": ["vip", "myopia"], "first_purchase_on": "2015-04-01"}"#,
                #"{"kind": "individual", "last_name": "Grand", "city": "Paris", "postal_code": "75011", "tags": ["vip"], "consent": {"marketing": {"granted": true, "source": "form"}}}"#,
                #"{"kind": "business", "organisation_name": "Atelier", "city": "PARIS", "postal_code": "75002", "category": "prescriber", "first_purchase_on": "2022-09-10"}"#,
                #"{"kind": "public_body", "organisation_name": "Mairie", "city": "Lyon", "postal_code": "69001"}"#,
            ])
            #expect(try await self.ids(client, key: key, "/v1/clients?kind=public_body") == [ids["Mairie"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?category=prescriber") == [ids["Atelier"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?tag=VIP") == [ids["Petit"]!, ids["Grand"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?tag=vip,myopia") == [ids["Petit"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?tag=vip&tag=myopia") == [ids["Petit"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?tag=nobody").isEmpty)
            #expect(try await self.ids(client, key: key, "/v1/clients?tag=vip,nobody").isEmpty)
            #expect(try await self.ids(client, key: key, "/v1/clients?city=saint-etienne") == [ids["Petit"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?city=paris") == [ids["Grand"]!, ids["Atelier"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?postal_code=75") == [ids["Grand"]!, ids["Atelier"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?postal_code=75&kind=business") == [ids["Atelier"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?consent_marketing=true") == [ids["Grand"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?consent_marketing=false&tag=vip") == [ids["Petit"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?first_purchase_from=2010-01-01&first_purchase_to=2020-12-31") == [ids["Petit"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?first_purchase_from=2020-01-01") == [ids["Atelier"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?last_purchase_from=2020-01-01").isEmpty)
            #expect(try await self.ids(client, key: key, "/v1/clients?assigned_user_id=\(UUID())").isEmpty)
            #expect(try await self.ids(client, key: keyB, "/v1/clients?tag=vip").isEmpty)

            for path in ["/v1/clients?kind=person", "/v1/clients?consent_marketing=yes", "/v1/clients?first_purchase_from=2020-13-01",
                         "/v1/clients?postal_code=75%25", "/v1/clients?assigned_user_id=me", "/v1/clients?q=ab",
                         "/v1/clients?sort=relevance", "/v1/clients?sort=oldest"] {
                let response = try await client.call(.get, path, key: key)
                #expect(response.status == .badRequest, "\(path)")
                #expect(response.problem?["field"] != nil, "\(path)")
            }
        }
    }

    @Test("search finds names, legal names, emails and phones despite accents, case and a typo; best match first")
    func search() async throws {
        let (key, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let ids = try await seed(client, key: key, [
                #"{"kind": "individual", "first_name": "Hélène", "last_name": "Lefèvre", "email": "helene.l@example.fr", "phone": "06 11 22 33 44"}"#,
                #"{"kind": "individual", "first_name": "François", "last_name": "Dubois"}"#,
                #"{"kind": "business", "organisation_name": "Boulangerie Lefebvre", "trade_name": "Au bon pain"}"#,
                #"{"kind": "individual", "first_name": "Zoé", "last_name": "Martin"}"#,
            ])
            #expect(try await self.ids(client, key: key, "/v1/clients?q=lefevre").first == ids["Lefèvre"])
            #expect(try await self.ids(client, key: key, "/v1/clients?q=LEFÈVRE").first == ids["Lefèvre"])
            #expect(try await self.ids(client, key: key, "/v1/clients?q=francois").contains(ids["Dubois"]!))
            #expect(try await self.ids(client, key: key, "/v1/clients?q=dubos") == [ids["Dubois"]!])  // a typo
            #expect(try await self.ids(client, key: key, "/v1/clients?q=boulangerie") == [ids["Boulangerie Lefebvre"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?q=bon%20pain") == [ids["Boulangerie Lefebvre"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?q=helene.l@example") == [ids["Lefèvre"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?q=%2B33%206%2011%2022") == [ids["Lefèvre"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?q=0611223344") == [ids["Lefèvre"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?q=lefevre&kind=business") == [ids["Boulangerie Lefebvre"]!])
            #expect(try await self.ids(client, key: key, "/v1/clients?q=100%25").isEmpty)  // LIKE wildcards are plain text
            #expect(try await self.ids(client, key: keyB, "/v1/clients?q=lefevre").isEmpty)
        }
    }

    @Test("whole-word matches come first in creation order, then near spellings by similarity; pages cross from one to the other")
    func wholeWordsFirst() async throws {
        let (key, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            var created: [String] = []
            // Three hold the word "dupont" (in a name, an email, a legal name); two only come close.
            for body in [
                #"{"kind": "individual", "first_name": "Luc", "last_name": "Dupontel"}"#,
                #"{"kind": "individual", "first_name": "Anne", "last_name": "Dupont"}"#,
                #"{"kind": "individual", "first_name": "Marc", "last_name": "Petit", "email": "marc.dupont@example.fr"}"#,
                #"{"kind": "individual", "first_name": "Jean", "last_name": "Dupond"}"#,
                #"{"kind": "business", "organisation_name": "Garage Dupont et fils"}"#,
                #"{"kind": "individual", "first_name": "Zoé", "last_name": "Martin", "phone": "06 12 34 56 78"}"#,
                #"{"kind": "individual", "first_name": "Paul", "last_name": "Roux", "phone": "07 12 34 56 78"}"#,
            ] {
                let response = try await client.call(.post, "/v1/clients?allow_duplicate=true", key: key, json: body)
                #expect(response.status == .created, "\(body): \(response.text)")
                created.append(try #require(response.json["id"] as? String))
            }
            let (dupontel, anne, marc, dupond, garage, zoe, paul) = (created[0], created[1], created[2], created[3], created[4], created[5], created[6])

            let all = try await ids(client, key: key, "/v1/clients?q=dupont")
            #expect(Array(all.prefix(3)) == [anne, marc, garage])  // whole words, by id (creation)
            #expect(Set(all.dropFirst(3)) == [dupontel, dupond])
            #expect(try await ids(client, key: key, "/v1/clients?q=DUPONT&sort=name").count == 5)

            // Pages of two: the second page holds the last whole-word match and the first near one.
            #expect(try await pagedIDs(client, key: key, "/v1/clients?q=dupont", limit: 2) == all)

            // Two words: both must be whole words of one client.
            #expect(try await ids(client, key: key, "/v1/clients?q=anne%20dupont").first == anne)
            #expect(try await ids(client, key: key, "/v1/clients?q=garage%20dupont").first == garage)
            // A phone by its first digits, in either form.
            #expect(try await ids(client, key: key, "/v1/clients?q=06%2012%2034") == [zoe])
            #expect(try await ids(client, key: key, "/v1/clients?q=%2B33%206%2012%2034") == [zoe])
            // A number that only looks like it is not a match; one holding the digits is.
            #expect(try await ids(client, key: key, "/v1/clients?q=0612345678") == [zoe])
            #expect(Set(try await ids(client, key: key, "/v1/clients?q=34%2056%2078")) == [zoe, paul])
            // A term with no a-z or 0-9 word left after folding matches nothing by words.
            #expect(try await ids(client, key: key, "/v1/clients?q=%CE%B1%CE%B2%CE%B3").isEmpty)
            #expect(try await ids(client, key: keyB, "/v1/clients?q=dupont").isEmpty)
        }
    }

    /// The words of the tenant's lexicon (tenant migration 0016), as the database holds them.
    func lexicon(_ words: [String]) async throws -> Set<String> {
        Set(try await harness.sql(["SELECT word FROM search_lexicon WHERE word = ANY (\(words))"])[0].map { try $0.decode(String.self, at: 0) })
    }

    @Test("typos and parts of words are looked up among the tenant's words: a new name is found at once, a changed or erased one is gone, a shared one stays")
    func lexiconFollowsTheClients() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let named = try await seed(client, key: key, [
                #"{"kind": "individual", "first_name": "Zébulon", "last_name": "Quintard", "email": "zq75@example.fr"}"#,
                #"{"kind": "individual", "first_name": "Zébulon", "last_name": "Marchetti"}"#,
            ])
            let (quintard, marchetti) = (named["Quintard"]!, named["Marchetti"]!)
            // Words of 3 letters or more without digits; phones and numbered local parts are typed whole.
            #expect(try await lexicon(["zebulon", "quintard", "marchetti", "zq75", "example"]) == ["zebulon", "quintard", "marchetti", "example"])
            #expect(try await ids(client, key: key, "/v1/clients?q=quintar") == [quintard])  // a part
            #expect(try await ids(client, key: key, "/v1/clients?q=kintard") == [quintard])  // a typo
            #expect(try await ids(client, key: key, "/v1/clients?q=zq75") == [quintard])
            #expect(Set(try await ids(client, key: key, "/v1/clients?q=zebulom&sort=name")) == [quintard, marchetti])

            let renamed = try await client.call(.patch, "/v1/clients/\(quintard)", key: key, json: #"{"last_name": "Quintana"}"#)
            #expect(renamed.status == .ok, "\(renamed.text)")
            #expect(try await lexicon(["quintard", "quintana", "zebulon"]) == ["quintana", "zebulon"])
            #expect(try await ids(client, key: key, "/v1/clients?q=kintard").isEmpty)
            #expect(try await ids(client, key: key, "/v1/clients?q=quintanna") == [quintard])

            // Erasing one Zébulon leaves the word to the other; his own name leaves with him.
            #expect(try await client.call(.post, "/v1/clients/\(marchetti)/erase", key: key).status == .ok)
            #expect(try await lexicon(["zebulon", "marchetti"]) == ["zebulon"])
            #expect(try await ids(client, key: key, "/v1/clients?q=zebulom") == [quintard])
            #expect(try await ids(client, key: key, "/v1/clients?q=marcheti").isEmpty)

            // A deleted client takes its words along.
            #expect(try await client.call(.delete, "/v1/clients/\(quintard)", key: key).status == .noContent)
            #expect(try await lexicon(["zebulon", "quintana", "example"]).isEmpty)
        }
    }

    @Test("one word: the closest spellings first, each spelling's clients in creation order; a page may end inside a spelling")
    func oneWordBySpelling() async throws {
        let key = harness.keyA
        try await harness.test { client in
            var created: [String] = []
            // "martine" is nobody's word: martineau and martinez are as close (0.875), martin less (0.75).
            for name in ["Martin", "Martineau", "Martinez", "Martineau"] {
                let response = try await client.call(.post, "/v1/clients?allow_duplicate=true", key: key,
                                                     json: #"{"kind": "individual", "last_name": "\#(name)"}"#)
                created.append(try #require(response.json["id"] as? String))
            }
            let expected = [created[1], created[2], created[3], created[0]]
            #expect(try await ids(client, key: key, "/v1/clients?q=martine") == expected)
            #expect(try await pagedIDs(client, key: key, "/v1/clients?q=martine", limit: 1) == expected)
        }
    }

    @Test("several words: each must come close to a word of the same client; the closest first; pages cross")
    func severalWords() async throws {
        let (key, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let named = try await seed(client, key: key, [
                #"{"kind": "individual", "first_name": "Hélène", "last_name": "Guérin"}"#,
                #"{"kind": "individual", "first_name": "Hélène", "last_name": "Garnier"}"#,
                #"{"kind": "individual", "first_name": "Héloïse", "last_name": "Guérineau"}"#,
                #"{"kind": "individual", "first_name": "Marc", "last_name": "Guérin-Roux", "email": "marc@example.fr"}"#,
            ])
            // No client holds "guerrin": every match is a near one, and only Guérin holds both.
            #expect(try await ids(client, key: key, "/v1/clients?q=helene%20guerrin") == [named["Guérin"]!])
            // "hel" is part of Hélène and of Héloïse; Hélène Guérin holds the closer words.
            let both = try await ids(client, key: key, "/v1/clients?q=hel%20guerin")
            #expect(both == [named["Guérin"]!, named["Guérineau"]!])
            #expect(try await pagedIDs(client, key: key, "/v1/clients?q=hel%20guerin", limit: 1) == both)
            // A word of two letters or with digits must be whole: "he" is nobody's word.
            #expect(try await ids(client, key: key, "/v1/clients?q=he%20guerin").isEmpty)
            #expect(try await ids(client, key: keyB, "/v1/clients?q=helene%20guerrin").isEmpty)
        }
    }

    @Test("a name of several words is kept whole too; searching it finds the same clients as its words, in any order or spelling of the gaps")
    func namesOfSeveralWords() async throws {
        let (key, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let named = try await seed(client, key: key, [
                #"{"kind": "individual", "first_name": "Yann", "last_name": "Le Goff"}"#,
                #"{"kind": "individual", "first_name": "Goff", "last_name": "Le"}"#,
                #"{"kind": "business", "organisation_name": "Garage Le Goff & Fils"}"#,
                #"{"kind": "individual", "first_name": "Marie", "last_name": "Le Gall"}"#,
                #"{"kind": "individual", "first_name": "Erwan", "last_name": "Goff"}"#,
            ])
            let (yann, le, garage, goff) = (named["Le Goff"]!, named["Le"]!, named["Garage Le Goff & Fils"]!, named["Goff"]!)
            // Whole: each name of several words, folded, words joined by one space; none for one word.
            let held = try await harness.sql(["SELECT id::text, search_words FROM clients WHERE id = ANY (\([yann, garage, goff].compactMap(UUID.init(uuidString:))))"])[0]
            let words = Dictionary(uniqueKeysWithValues: try held.map { (try $0.decode(String.self, at: 0), try $0.decode([String].self, at: 1)) })
            #expect(words[yann]?.contains("le goff") == true)
            #expect(words[garage]?.contains("garage le goff fils") == true)
            #expect(words[goff]?.contains { $0.contains(" ") } == false)

            // The phrase or its words: the same three, in creation order, whatever the gaps or order.
            let expected = [yann, le, garage]
            #expect(try await ids(client, key: key, "/v1/clients?q=le%20goff") == expected)
            #expect(try await ids(client, key: key, "/v1/clients?q=LE-GOFF") == expected)
            #expect(try await ids(client, key: key, "/v1/clients?q=goff%20le") == expected)
            #expect(try await pagedIDs(client, key: key, "/v1/clients?q=le%20goff", limit: 2) == expected)
            #expect(Set(try await ids(client, key: key, "/v1/clients?q=le%20goff&sort=name")) == Set(expected))
            #expect(try await ids(client, key: key, "/v1/clients?q=garage%20le%20goff%20fils") == [garage])

            // A renamed client's phrase goes with the old name.
            let renamed = try await client.call(.patch, "/v1/clients/\(yann)", key: key, json: #"{"last_name": "Kerouac"}"#)
            #expect(renamed.status == .ok, "\(renamed.text)")
            #expect(try await ids(client, key: key, "/v1/clients?q=le%20goff") == [le, garage])
            #expect(try await ids(client, key: keyB, "/v1/clients?q=le%20goff").isEmpty)
        }
    }

    @Test("every sort order pages through every client once, stably; a cursor from one sort is refused by another")
    func sortsAndCursors() async throws {
        let (key, database, directory) = (harness.keyA, harness.database, harness.directory)
        try await harness.test { client in
            var created: [String] = []
            // Names repeat so that the id tie-breaker matters.
            for (index, name) in ["Durand", "André", "durand", "Zola", "Émile", "Durand", "Bernard"].enumerated() {
                let response = try await client.call(.post, "/v1/clients", key: key,
                                                     json: #"{"kind": "individual", "last_name": "\#(name)", "first_name": "P\#(index % 2)"}"#)
                created.append(try #require(response.json["id"] as? String))
            }
            // Purchases are recorded elsewhere; set last_purchase_on directly, as they will.
            let scope = TenantScope(try await directory.find(slug: "optique-a"))
            let dates = ["2024-05-01", nil, "2024-05-01", "2023-01-10", nil, "2025-02-02", "2024-05-01"]
            for (id, date) in zip(created, dates) {
                if let date {
                    _ = try await database.tenantTransaction(scope, [
                        "UPDATE clients SET last_purchase_on = \(PostgresDate(date)!) WHERE id = \(UUID(uuidString: id)!)",
                    ])
                }
            }

            func pages(_ query: String) async throws -> ([String], [String]) {
                var seen: [String] = [], names: [String] = []
                var cursor: String?
                repeat {
                    let path = "/v1/clients?limit=2&\(query)" + (cursor.map { "&cursor=\($0)" } ?? "")
                    let page = try await client.call(.get, path, key: key)
                    #expect(page.status == .ok, "\(path): \(page.text)")
                    let items = page.json["items"] as? [[String: Any]] ?? []
                    seen += items.compactMap { $0["id"] as? String }
                    names += items.compactMap { $0["last_name"] as? String }
                    cursor = page.json["next_cursor"] as? String
                } while cursor != nil && seen.count <= created.count
                return (seen, names)
            }

            let (byCreation, _) = try await pages("sort=created")
            #expect(byCreation == created)
            let (byName, names) = try await pages("sort=name")
            #expect(Set(byName) == Set(created))
            #expect(byName.count == created.count)
            #expect(names == ["André", "Bernard", "Durand", "durand", "Durand", "Émile", "Zola"]
                    || names.map { $0.lowercased() } == ["andré", "bernard", "durand", "durand", "durand", "émile", "zola"])
            let (byPurchase, _) = try await pages("sort=last_purchase")
            let expected = [created[5]] + [created[0], created[2], created[6]].sorted(by: >) + [created[3]] + [created[1], created[4]].sorted(by: >)
            #expect(byPurchase == expected)

            let first = try await client.call(.get, "/v1/clients?limit=2&sort=name", key: key)
            let nameCursor = try #require(first.json["next_cursor"] as? String)
            let mixed = try await client.call(.get, "/v1/clients?limit=2&sort=last_purchase&cursor=\(nameCursor)", key: key)
            #expect(mixed.status == .badRequest)
            #expect(mixed.problem?["field"] as? String == "cursor")
            let byDefault = try await client.call(.get, "/v1/clients?limit=2&cursor=\(nameCursor)", key: key)
            #expect(byDefault.status == .badRequest)
        }
    }

    @Test("an agent's lists and searches hold only the clients assigned to them")
    func agentScope() async throws {
        let scope = TenantScope(try await harness.directory.find(slug: "optique-a"))
        let repository = ClientRepository(database: harness.database)
        let agent = Actor(scope: scope, role: .agent, userID: UUID(), label: "user:agent")
        let owner = Actor.system(scope, label: "test")
        func changes(_ json: String) throws -> ClientChanges {
            try JSONDecoder().decode(ClientChanges.self, from: Data(json.utf8))
        }
        let mine = try await repository.create(try changes(#"{"kind": "individual", "last_name": "Rivière"}"#), as: agent)
        _ = try await repository.create(try changes(#"{"kind": "individual", "last_name": "Riviere"}"#), as: owner)

        var search = ClientListQuery()
        search.search = "riviere"
        search.sort = .relevance
        #expect(try await repository.list(search, as: agent).items.map(\.id) == [mine.id])
        #expect(try await repository.list(search, as: owner).items.count == 2)
        search.search = "rivierre"  // a typo: both are near matches, the agent sees one
        #expect(try await repository.list(search, as: agent).items.map(\.id) == [mine.id])
        #expect(try await repository.list(search, as: owner).items.count == 2)
        var byName = ClientListQuery()
        byName.sort = .name
        #expect(try await repository.list(byName, as: agent).items.map(\.id) == [mine.id])
        // Its duplicates are only the agent's own clients too.
        #expect(try await repository.duplicates(of: mine.id, as: agent).isEmpty)
        #expect(try await repository.duplicates(of: mine.id, as: owner).count == 1)
    }
}
