// The thread sanitizer's hooks for the test binary; nothing to call from Swift.
#pragma once
