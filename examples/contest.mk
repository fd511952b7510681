# examples/contest.mk — an image-labeling contest from data to a checked
# submission, with real files as targets: re-running only redoes what changed
# (new data, another option value).
#
#   make -f examples/contest.mk DATA=/path/to/contest
#   make -f examples/contest.mk DATA=/path/to/contest -j2 THREADS=1 FOLDS=5 EPOCHS=15 INPUT_SIZE=64
#
# DATA is a contest in SIGNATE's layout: train/ train_master.tsv
# label_master.tsv test/ sample_submit.csv (test_labels.tsv, when present —
# synthetic contests from ck-synth have it — also scores the submission).
#
# Steps (files under WORK):
#   aug/        optional offline augmentation of the training images (AUG=spec)
#   split/      ck-split: FOLDS stratified folds (FOLDS=1: one holdout of VAL)
#   models/     ck-finetune per fold: foldI.ckpt, foldI.csv (epochs), foldI.svg/.png
#               (learning curves); 'make -j' trains folds in parallel
#   oof/        each fold's model on its own validation images: out-of-fold
#               predictions, scored in cv-score.txt (an honest estimate)
#   pseudo.tsv  with PSEUDO=P: the test rows the fold ensemble predicts with a
#               probability >= P, as pseudo-labels (ck-predict --format manifest)
#   models-pseudo/  with PSEUDO: the second round, each fold trained again on
#               its training rows + pseudo.tsv as an extra training set
#               (validated on its own rows only);
#               these models then give oof/ and the submission
#   NAME.csv    the fold ensemble (+ TTA) on the test images, checked with
#               ck-eval --check, then copied to SUBMISSIONS/NAME.csv
# See docs/workflow.md.

DATA        ?= data
CK          ?= build/tools
WORK        ?= work/contest
SUBMISSIONS ?= submissions
# Backbone: vgg16, vgg19 or resnet50 (make -C pretrained ARCH fetches it);
# ck recognises the backbone from the weights file itself.
ARCH        ?= vgg16
WEIGHTS     ?= pretrained/$(ARCH)_notop.h5
# Folds (1 = a single holdout of VAL), seed of the split, training and augmentation.
FOLDS       ?= 5
VAL         ?= 0.2
SEED        ?= 1
# ck-finetune
EPOCHS      ?= 10
INPUT_SIZE  ?= 32
BATCH       ?= 32
LR          ?= 0.001
HEAD        ?= 256
# Online augmentation (ck-finetune --aug; empty = none).
TRAIN_AUG   ?= flip=h
# Tricks (docs/workflow.md; empty = ck-finetune's default): --schedule
# (e.g. onecycle), --ema DECAY (e.g. 0.999), --mixup A (e.g. 0.4).
SCHEDULE    ?=
EMA         ?=
MIXUP       ?=
# Pseudo-label round: a probability (e.g. 0.9) adds a second training pass
# on each fold's training rows + the test rows predicted at least this
# confidently; empty = one round.
PSEUDO      ?=
# Offline augmentation (a ck-augment spec, e.g. crop=0.8:1,rotate=10,flip=h;
# empty = skip) and copies per image.
AUG         ?=
AUG_COPIES  ?= 2
# ck-predict: test-time views and clipping of the written probabilities.
TTA         ?= flip
CLIP        ?= 1e-6
# Compute threads per process (0 = all cores; use 1 with make -j2 on 2 cores).
THREADS     ?= 0
DEVICE      ?= cpu
FINETUNE_OPTS ?=
PREDICT_OPTS  ?=
NAME        ?= vgg16_$(INPUT_SIZE)px_$(FOLDS)fold

TRAIN    := $(DATA)/train_master.tsv
LABELS   := $(DATA)/label_master.tsv
SAMPLE   := $(DATA)/sample_submit.csv
TRUTH    ?= $(wildcard $(DATA)/test_labels.tsv)
SPLIT    := $(WORK)/split
MODELS   := $(WORK)/models
FOLD_IDS := $(shell seq 0 $$(( $(FOLDS) - 1 )))
CKPTS    := $(foreach i,$(FOLD_IDS),$(MODELS)/fold$(i).ckpt)
# The models that predict: the second round's when there is one.
FINAL    := $(if $(strip $(PSEUDO)),$(WORK)/models-pseudo,$(MODELS))
FINAL_CKPTS := $(foreach i,$(FOLD_IDS),$(FINAL)/fold$(i).ckpt)
SUB      := $(SUBMISSIONS)/$(NAME).csv
PREDICT_FLAGS = --tta $(TTA) $(if $(strip $(CLIP)),--clip $(CLIP)) --threads $(THREADS) --device $(DEVICE) $(PREDICT_OPTS)

ifeq ($(strip $(AUG)),)
TRAIN_IMAGES := $(DATA)/train
fold_train = $(SPLIT)/fold$(1)_train.tsv
else
# Validation images are looked up in the same folder: --include-original
# writes them there too, unchanged.
TRAIN_IMAGES := $(WORK)/aug
fold_train = $(SPLIT)/fold$(1)_train_aug.tsv
endif

all: $(SUB) $(WORK)/cv-score.txt $(if $(TRUTH),$(WORK)/test-score.txt)
	@echo
	@echo "submission:        $(SUB) (checked: $$(cat $(WORK)/$(NAME).check))"
	@echo "learning curves:   $(FINAL)/fold0.svg ... (one per fold)"
	@$(if $(strip $(PSEUDO)),echo "pseudo-labels:     $$(($$(wc -l < $(WORK)/pseudo.tsv) - 1)) test rows with a probability >= $(PSEUDO) ($(WORK)/pseudo.tsv)")
	@echo "cross-validation:  $$($(CK)/ck-eval --truth $(WORK)/oof-truth.tsv --summary $(WORK)/oof.csv) ($(WORK)/cv-score.txt)"
	@$(if $(TRUTH),echo "test set:          $$($(CK)/ck-eval --truth $(TRUTH) --summary $(SUB)) ($(WORK)/test-score.txt)")

# ---- option stamps: a file holding the options of a step, rewritten only
# when they change, so that the step re-runs exactly then.
define stamp
	@mkdir -p $(@D)
	@echo '$(1)' | cmp -s - $@ || echo '$(1)' > $@
endef
$(WORK)/opts/split: FORCE
	$(call stamp,$(FOLDS) $(VAL) $(SEED))
$(WORK)/opts/aug: FORCE
	$(call stamp,$(AUG) $(AUG_COPIES) $(SEED))
$(WORK)/opts/train: FORCE
	$(call stamp,$(EPOCHS) $(INPUT_SIZE) $(BATCH) $(LR) $(HEAD) $(TRAIN_AUG) $(SEED) $(SCHEDULE) $(EMA) $(MIXUP) $(FINETUNE_OPTS))
$(WORK)/opts/pseudo: FORCE
	$(call stamp,$(PSEUDO))
# Which round's models predict (switching PSEUDO off must predict again).
$(WORK)/opts/final: FORCE
	$(call stamp,$(FINAL))
$(WORK)/opts/predict: FORCE
	$(call stamp,$(TTA) $(CLIP) $(PREDICT_OPTS))

$(WEIGHTS):
	@test -f $@ || { echo "contest.mk: base weights $@ not found: run 'make -C pretrained' or pass WEIGHTS=FILE" >&2; exit 1; }

# ---- augmentation (optional)
$(WORK)/aug.tsv: $(TRAIN) $(WORK)/opts/aug
	rm -rf $(WORK)/aug
	$(CK)/ck-augment -m $(TRAIN) --images $(DATA)/train -o $(WORK)/aug --aug '$(AUG)' \
	  --copies $(AUG_COPIES) --include-original --seed $(SEED) > $@.tmp
	mv $@.tmp $@

# A fold's augmented training table: the augmented copies of its own
# training images only (never of its validation images).
$(SPLIT)/fold%_train_aug.tsv: $(SPLIT)/.done $(WORK)/aug.tsv
	awk -F'\t' 'NR == FNR { if (FNR > 1) { n = $$1; sub(/\.[^.]*$$/, "", n); keep[n] = 1 } next } \
	  FNR == 1 { print; next } \
	  { n = $$1; sub(/\.[^.]*$$/, "", n); sub(/_aug[0-9]+$$/, "", n); if (n in keep) print }' \
	  $(SPLIT)/fold$*_train.tsv $(WORK)/aug.tsv > $@.tmp
	mv $@.tmp $@

# ---- split
$(SPLIT)/.done: $(TRAIN) $(LABELS) $(WORK)/opts/split
	rm -rf $(SPLIT)
ifeq ($(FOLDS),1)
	$(CK)/ck-split -m $(TRAIN) -l $(LABELS) --val $(VAL) --seed $(SEED) -o $(SPLIT) -q
	mv $(SPLIT)/train.tsv $(SPLIT)/fold0_train.tsv
	mv $(SPLIT)/val.tsv $(SPLIT)/fold0_val.tsv
else
	$(CK)/ck-split -m $(TRAIN) -l $(LABELS) --folds $(FOLDS) --seed $(SEED) -o $(SPLIT) -q
endif
	touch $@

# ---- training, one process per fold
# $(call finetune,TRAIN TABLE,FOLD,OUTPUT FOLDER[,EXTRA SETS]): one fold's
# training; EXTRA SETS are more --train/--images pairs (they train only).
finetune = $(CK)/ck-finetune --weights $(WEIGHTS) --train $(1) --val-manifest $(SPLIT)/fold$(2)_val.tsv \
	  --images $(TRAIN_IMAGES) $(4) --labels $(LABELS) --input-size $(INPUT_SIZE) --epochs $(EPOCHS) \
	  --batch $(BATCH) --lr $(LR) --head $(HEAD) $(if $(strip $(TRAIN_AUG)),--aug $(TRAIN_AUG)) \
	  $(if $(strip $(SCHEDULE)),--schedule $(SCHEDULE)) $(if $(strip $(EMA)),--ema $(EMA)) \
	  $(if $(strip $(MIXUP)),--mixup $(MIXUP)) --seed $(SEED) --threads $(THREADS) --device $(DEVICE) \
	  --log $(3)/fold$(2).csv --plot $(3)/fold$(2).svg $(FINETUNE_OPTS) -o $(3)/fold$(2).ckpt

$(MODELS)/fold%.ckpt: $(SPLIT)/.done $(WORK)/opts/train $(WEIGHTS) $(if $(strip $(AUG)),$(SPLIT)/fold%_train_aug.tsv)
	@mkdir -p $(@D)
	$(call finetune,$(call fold_train,$*),$*,$(@D))

# ---- pseudo-label round (PSEUDO=P)
$(WORK)/pseudo.tsv: $(CKPTS) $(WORK)/opts/predict $(WORK)/opts/pseudo $(SAMPLE)
	$(CK)/ck-predict $(foreach c,$(CKPTS),-m $(c)) --images $(DATA)/test --order $(SAMPLE) --tta $(TTA) \
	  --threads $(THREADS) --device $(DEVICE) $(PREDICT_OPTS) --format manifest --min-prob $(PSEUDO) -o $@

# The second round: a fold's training rows (validated on the fold's own
# rows) plus the pseudo-labelled test rows as an extra training set.
$(WORK)/models-pseudo/fold%.ckpt: $(SPLIT)/.done $(WORK)/pseudo.tsv $(WORK)/opts/train $(WEIGHTS) $(if $(strip $(AUG)),$(SPLIT)/fold%_train_aug.tsv)
	@mkdir -p $(@D)
	$(call finetune,$(call fold_train,$*),$*,$(@D),--train $(WORK)/pseudo.tsv --images $(DATA)/test)

# ---- out-of-fold evaluation
$(WORK)/oof/fold%.csv: $(FINAL)/fold%.ckpt $(WORK)/opts/predict $(WORK)/opts/final
	@mkdir -p $(@D)
	$(CK)/ck-predict -m $< --images $(TRAIN_IMAGES) --order $(SPLIT)/fold$*_val.tsv --no-header --sep , \
	  $(PREDICT_FLAGS) -o $@

$(WORK)/oof.csv: $(foreach i,$(FOLD_IDS),$(WORK)/oof/fold$(i).csv)
	cat $^ > $@.tmp
	mv $@.tmp $@

# The truth of the out-of-fold rows: every fold's validation table.
$(WORK)/oof-truth.tsv: $(SPLIT)/.done
	{ head -n 1 $(SPLIT)/fold0_val.tsv; for i in $(FOLD_IDS); do tail -n +2 $(SPLIT)/fold$${i}_val.tsv; done; } > $@.tmp
	mv $@.tmp $@

$(WORK)/cv-score.txt: $(WORK)/oof.csv $(WORK)/oof-truth.tsv
	$(CK)/ck-eval --truth $(WORK)/oof-truth.tsv --labels $(LABELS) --confusion $(WORK)/cv-confusion.svg $< > $@.tmp
	mv $@.tmp $@

# ---- the submission: fold ensemble + TTA, checked before it is published
$(WORK)/$(NAME).csv: $(FINAL_CKPTS) $(WORK)/opts/predict $(WORK)/opts/final $(SAMPLE)
	$(CK)/ck-predict $(foreach c,$(FINAL_CKPTS),-m $(c)) --images $(DATA)/test --order $(SAMPLE) $(PREDICT_FLAGS) -o $@

$(SUB): $(WORK)/$(NAME).csv
	$(CK)/ck-eval --check $(SAMPLE) $< > $(WORK)/$(NAME).check || { cat $(WORK)/$(NAME).check; exit 1; }
	@mkdir -p $(@D)
	cp $< $@.tmp
	mv $@.tmp $@

$(WORK)/test-score.txt: $(SUB) $(TRUTH)
	$(CK)/ck-eval --truth $(TRUTH) --labels $(LABELS) --confusion $(WORK)/test-confusion.svg $(SUB) > $@.tmp
	mv $@.tmp $@

clean:
	rm -rf $(WORK)

.PHONY: all clean FORCE
FORCE:
# Keep intermediate files (fold tables, out-of-fold predictions) between runs.
.SECONDARY:
.DELETE_ON_ERROR:
