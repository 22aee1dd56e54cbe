# ostinflate: the decompression floor printed by bench/writer_ost.sh (every compressed block of a
# 4 KiB-format file inflated with libdeflate, timed). Included by the top Makefile.
OSTINFLATE_OBJ := $(BUILD)/tools/ostinflate/main.o
OSTINFLATE_LIB := $(filter $(BUILD)/src/ost/ndb.o $(BUILD)/src/ost/ndb_batch.o $(BUILD)/src/ost/ndb_prefetch.o $(BUILD)/src/ost/ndb_check.o $(BUILD)/src/ost/ndb_table.o $(BUILD)/src/ost/ndb_crypt.o $(BUILD)/src/core/%,$(OBJ))
TOOLS          += $(BUILD)/ostinflate

$(BUILD)/ostinflate: $(OSTINFLATE_OBJ) $(OSTINFLATE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(OSTINFLATE_OBJ:.o=.d)
