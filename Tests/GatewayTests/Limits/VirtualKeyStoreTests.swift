import Foundation
import Testing

@testable import Gateway

@Suite struct VirtualKeyStoreTests {
    static func template(tenant: String = "team-a") -> VirtualKey {
        VirtualKey(
            id: "", tenant: tenant, models: ["gpt-4o*", "llama"], requestsPerMinute: 60, tokensPerMinute: 10_000,
            budgets: [.init(limitUSD: 5, period: .month), .init(limitUSD: 0.5, period: .rollingDay)],
            softThreshold: 0.8, createdAt: 1000, revokedAt: nil)
    }

    @Test func keysAreStoredHashedAndFoundByTheirPlainText() throws {
        let path = try SpendLedgerTests.temporaryPath()
        var generator = SystemRandomNumberGenerator()
        let store = try VirtualKeyStore(path: path)
        let (key, stored) = try store.create(Self.template(), using: &generator)
        #expect(key.hasPrefix("tg-") && key.count == 3 + 64)
        #expect(stored.id.hasPrefix("vk_"))
        #expect(store.lookup(key) == stored)
        #expect(store.lookup(key + "x") == nil)
        // The file holds the hash, never the key.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            + ((try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data())
        #expect(bytes.range(of: Data(key.utf8)) == nil)

        // A fresh process reads every field back.
        let reopened = try VirtualKeyStore(path: path)
        #expect(reopened.lookup(key) == stored)
        #expect(reopened.list().map(\.id) == [stored.id])
    }

    @Test func revokedKeysStayRevokedAcrossRestarts() throws {
        let path = try SpendLedgerTests.temporaryPath()
        var generator = SystemRandomNumberGenerator()
        let store = try VirtualKeyStore(path: path)
        let (key, stored) = try store.create(Self.template(), using: &generator)
        let (other, _) = try store.create(Self.template(tenant: "team-b"), using: &generator)
        #expect(try store.revoke(id: stored.id, at: 2000))
        #expect(try !store.revoke(id: "vk_missing", at: 2000))
        #expect(store.lookup(key)?.isRevoked == true)
        let reopened = try VirtualKeyStore(path: path)
        #expect(reopened.lookup(key)?.revokedAt == 2000)
        #expect(reopened.lookup(other)?.isRevoked == false)
        #expect(reopened.key(id: stored.id)?.tenant == "team-a")
    }
}
