// The whole suite runs on either route: `swift test` on the default one, and
// `GOCONCURRENCY_TEST_ROUTE=global swift test` (as `.ci/run` does) with the
// runtime installed as Swift's global executor before the runner starts
// (Tests/CGoConcurrencyTestRoute). This checks that the route asked for is
// the route taken, so a run meant for the global route cannot pass on the
// default one unnoticed.

import Testing
@testable import GoConcurrency

@Suite("The suite's route")
struct SuiteRouteTests {
    @Test("A plain task runs on the shared runtime's processors exactly when the suite runs on the global route")
    func plainTasksRunWhereTheRouteSays() async {
        let onProcessor = await Task.detached { Processor.current != nil }.value
        #expect(onProcessor == (testRoute == .globalExecutor))
        #expect((GoRuntime.installed != nil) == (testRoute == .globalExecutor))
        #expect(GoRuntime.shared.runsAsGlobalExecutor == (testRoute == .globalExecutor))
    }
}
