# ostwrite: the fixture expander and .pst/.ost writer (test tooling). Included by the top Makefile.
OSTWRITE_SRC := $(wildcard tools/fixture/*.c) $(wildcard tools/ostwrite/*.c)
OSTWRITE_OBJ := $(OSTWRITE_SRC:%.c=$(BUILD)/%.o)
TOOLS        += $(BUILD)/ostwrite

$(BUILD)/ostwrite: $(OSTWRITE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ -ljansson -lz

-include $(OSTWRITE_OBJ:.o=.d)
