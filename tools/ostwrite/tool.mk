# ostwrite: the fixture expander and .pst/.ost writer (test tooling). Included by the top Makefile.
# It writes files with the product's writer (src/pst) and its core (src/core).
OSTWRITE_SRC := $(wildcard tools/fixture/*.c) $(wildcard tools/ostwrite/*.c)
OSTWRITE_OBJ := $(OSTWRITE_SRC:%.c=$(BUILD)/%.o)
OSTWRITE_LIB := $(filter $(BUILD)/src/pst/% $(BUILD)/src/core/%,$(OBJ))
TOOLS        += $(BUILD)/ostwrite

$(BUILD)/ostwrite: $(OSTWRITE_OBJ) $(OSTWRITE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(OSTWRITE_OBJ:.o=.d)
