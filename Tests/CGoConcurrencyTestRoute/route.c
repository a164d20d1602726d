// The test suite on the global-executor route. GoRuntime can be installed as
// Swift's global executor only before any task runs, and the test runner
// starts tasks before any test's code: so, when GOCONCURRENCY_TEST_ROUTE is
// "global", this constructor (run by the loader, before main) asks the test
// module to install it (`goconcurrency_tests_install_global_route`, defined
// by the test module with @_cdecl). Unset or "preference": nothing happens.
// Any other value stops the run, rather than testing a route nobody asked for.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void goconcurrency_tests_install_global_route(void);

__attribute__((constructor))
static void goconcurrency_tests_choose_route(void) {
    const char *route = getenv("GOCONCURRENCY_TEST_ROUTE");
    if (route == NULL || route[0] == '\0' || strcmp(route, "preference") == 0) return;
    if (strcmp(route, "global") != 0) {
        fprintf(stderr, "GOCONCURRENCY_TEST_ROUTE=%s: expected 'preference' or 'global'\n", route);
        exit(2);
    }
    goconcurrency_tests_install_global_route();
}
