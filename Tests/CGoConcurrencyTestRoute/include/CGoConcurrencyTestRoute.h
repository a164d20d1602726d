// Nothing to import: this target only runs a constructor (route.c).
#ifndef CGOCONCURRENCY_TEST_ROUTE_H
#define CGOCONCURRENCY_TEST_ROUTE_H
#endif
