import Testing

@testable import Jobs

@Suite("Wake signal")
struct WakeSignalTests {
    /// Which of a wait (with a long timeout) and a ten-second guard ends first.
    private func firstToEnd(_ wake: WakeSignal, after generation: Int, signalAfter delay: Duration? = nil) async -> String {
        await withTaskGroup(of: String.self) { group in
            group.addTask {
                await wake.wait(after: generation, timeout: .seconds(3600))
                return "woken"
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return "guard"
            }
            if let delay {
                group.addTask {
                    try? await Task.sleep(for: delay)
                    wake.signal()
                    return "signal sent"
                }
            }
            var first = await group.next()!
            if first == "signal sent" { first = await group.next()! }
            group.cancelAll()
            return first
        }
    }

    @Test("a signal sent while the loop looked for work ends the wait that follows at once")
    func signalBeforeWait() async {
        let wake = WakeSignal()
        let seen = wake.generation
        wake.signal()  // e.g. a NOTIFY arriving while the claim was in flight
        #expect(wake.generation != seen)
        #expect(await firstToEnd(wake, after: seen) == "woken")
    }

    @Test("with no signal since, the wait sleeps until one comes")
    func signalDuringWait() async {
        let wake = WakeSignal()
        #expect(await firstToEnd(wake, after: wake.generation, signalAfter: .milliseconds(100)) == "woken")
    }

    @Test("a signal older than the generation read does not end the wait; the timeout does")
    func oldSignalIgnored() async {
        let wake = WakeSignal()
        wake.signal()
        let seen = wake.generation
        let ended = Flag()
        let waiting = Task {
            await wake.wait(after: seen, timeout: .milliseconds(300))
            ended.set()
        }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(!ended.isSet)  // still asleep: the old signal counts for nothing
        await waiting.value
        #expect(ended.isSet)
    }
}

