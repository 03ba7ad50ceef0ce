#include "tap.h"

int
main(void)
{
	ok(0, "test not written yet");
	return tap_done();
}
