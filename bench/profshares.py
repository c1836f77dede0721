#!/usr/bin/env python3
"""Split a CPU profile of a bench run into the costs issue 12 names.

    go build -o /tmp/bench ./bench
    /tmp/bench --scenarios b --reps 7 --cpuprofile /tmp/b.prof
    python3 bench/profshares.py /tmp/bench /tmp/b.prof

Samples of the limit measurement (labelled bench=limits by measureLimits,
which covers the goroutines it starts, the md5-simd server's included, or
whose stack names md5Rate, md5SimdRate, copyRate) are left out; the rest is
the scenario. The engine's own md5-simd server counts as its MD5. Two tables follow:
- exclusive: each sample goes to the first rule that matches a frame,
  walking from the leaf up (so the rows add up to 100%);
- inclusive: the share of samples whose stack holds a matching frame
  anywhere (pprof's cum; rows overlap).
The rules are regular expressions over pprof's function names; keep them
unchanged between a "before" and an "after" profile.
"""
import re, subprocess, sys, collections
binp, prof = sys.argv[1], sys.argv[2]
out = subprocess.run(["go","tool","pprof","-traces",binp,prof],capture_output=True,text=True).stdout
blocks = out.split("-----------+-------------------------------------------------------")
def val(s):
    m = re.match(r"\s*([\d.]+)(ms|s|us|µs)", s)
    if not m: return None
    v=float(m.group(1)); u=m.group(2)
    return v*{'s':1000,'ms':1,'us':1e-3,'µs':1e-3}[u]
rules = [
 ("allocation (mallocgc)", r"runtime\.(mallocgc|newobject|makeslice|growslice|makemap|newarray|mapassign)"),
 ("GC (background mark, assist, sweep)", r"runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge|gcStart|markroot|gcDrain|scanobject|sweepone|gcMarkDone)"),
 ("MD5", r"crypto/md5|minio/md5-simd"),
 ("memmove/memclr", r"runtime\.(memmove|memclrNoHeapPointers)"),
 ("spawn actors", r"actor\.\(\*actorContext\)\.Spawn|actor\.\(\*Props\)\.spawn|SpawnNamed|spawnFile|startBlock|propsOn|newFileActor|spawnCell|spawnChild|spawnRootCell|newCell|\(\*cell\)\.register|ProcessRegistryValue\)\.Add"),
 ("stop actors", r"actor\.\(\*actorContext\)\.(Stop|handleStop|finalizeStop|handleTerminated|stopAllChildren|tryRestartOrTerminate|InvokeSystemMessage|Poison)|PostSystemMessage|SendSystemMessage|ActorProcess\)\.Stop|blockActor\)\.stop|ProcessRegistryValue\)\.Remove|\(\*cell\)\.(Stop|beginStop|finishStop|childEnded|tellTerminated)"),
 ("reply latches", r"messages\.\(\*Reply\)|messages\.NewReply|awaitUntil|awaitTimeout"),
 ("packing round", r"manager\)\.(startRound|onPackAll|onPackAnswer|onCandidate|onBlockStatus)|onPackOffer|onPackData|onPackSeal|onPackDone|onPackCopied|finishPack"),
 ("messaging (protoactor send, mailbox, queues)", r"asynkron/protoactor-go|actors\.\(\*System\)\.Send"),
 ("dispatcher & strands", r"actors\.\(\*Dispatcher\)|actors\.\(\*Strand\)"),
 ("Go scheduler, parking, syscalls", r"runtime\.(schedule|findRunnable|park_m|mcall|futex|notesleep|stopm|gopark|goready|ready|wakep|runqgrab|netpoll|usleep|osyield|lock2|unlock2|semrelease|semacquire|procyield)|syscall|runtime\.(madvise|sysUnused)|sync\.\(\*Mutex\)|internal/sync"),
 ("actor handlers (own work)", r"arvfile/arvfile/(actors|segments|manifest|keep)"),
 ("facade (root package)", r"arvfile/arvfile\.|arvfile/arvfile\.\("),
]
LABEL = re.compile(r"^\s*[\w.-]+:\s+\S")  # a pprof label line, e.g. "bench:  limits"
cat = collections.Counter(); total=0; limits=0
for b in blocks:
    lines=[l for l in b.split("\n") if l.strip() and not LABEL.match(l)]
    if not lines: continue
    v=val(lines[0])
    if v is None: continue
    frames=[re.sub(r"^\s*[\d.]+(ms|s|us|µs)?\s*","",l).strip() for l in lines]
    stack=" | ".join(frames)
    if re.search(r"bench:\s+limits", b) or re.search(r"main\.(md5Rate|md5SimdRate|copyRate|measureLimits|pattern)", stack):
        limits+=v; continue
    total+=v
    c="other"
    for f in frames:
        hit=None
        for name,rx in rules:
            if re.search(rx,f): hit=name; break
        if hit: c=hit; break
    if c=="MD5":
        c = "MD5 in the sink store (the Keep server's share)" if "sinkStore" in stack else "MD5 of blocks in the engine"
    if c=="memmove/memclr":
        owner = next((f for f in frames[1:] if "arvfile" in f or "main." in f), "?")
        c = "memmove/memclr in "+owner.split("/")[-1].split()[0] if owner!="?" else "memmove/memclr (runtime)"
    cat[c]+=v
print(f"profile total {total+limits:.0f} ms, of which limits {limits:.0f} ms; scenario {total:.0f} ms")
print("\n| exclusive (leaf first) | CPU | share |\n|---|---|---|")
for k,v in cat.most_common():
    print(f"| {k} | {v:.0f} ms | {100*v/total:.1f}% |")
print("\n| inclusive (cum) | CPU | share |\n|---|---|---|")
incl = [
 ("spawn of file and block actors (Spawn, or spawnCell since the cells, cum)", r"actor\.\(\*actorContext\)\.Spawn\b|\.SpawnNamed|actors\.spawnCell|actors\.spawnRootCell"),
 ("stop of actors (Stop, system messages, terminate, cum)", r"actor\.\(\*actorContext\)\.(Stop|handleStop|finalizeStop|handleTerminated|stopAllChildren|tryRestartOrTerminate|InvokeSystemMessage)|PostSystemMessage|SendSystemMessage|\(\*cell\)\.(beginStop|finishStop)"),
 ("sending a user message (PID.sendUserMessage, cum)", r"PID\)\.sendUserMessage|\(\*cell\)\.SendUserMessage"),
 ("reply latches (Reply, awaitUntil, cum)", r"messages\.\(\*Reply\)|messages\.NewReply|awaitUntil|awaitTimeout"),
 ("allocation (mallocgc, cum)", r"runtime\.mallocgc"),
 ("GC background work (gcBgMarkWorker, bgsweep, cum)", r"runtime\.(gcBgMarkWorker|bgsweep|bgscavenge)"),
 ("GC assist by allocating goroutines (cum)", r"runtime\.gcAssistAlloc"),
 ("packing round (manager round + pack handlers, cum)", r"manager\)\.(startRound|onPackAll|onPackAnswer|onCandidate|onBlockStatus)|onPackOffer|onPackData|onPackSeal|onPackDone|onPackCopied|finishPack"),
 ("file actor handlers (cum)", r"fileActor\)\.(Receive|receive)"),
 ("block actor handlers (cum)", r"blockActor\)\.(Receive|receive)"),
 ("collection actor handlers (cum)", r"collectionActor\)\.(Receive|receive)"),
 ("put workers (store Put, cum)", r"putWorker\)\.Receive"),
 ("hashing in the engine (Hasher lanes and packed blocks, cum)", r"actors\.\(\*Hasher\)|actors\.\(\*HashStream\)|hashArrived|hashScalar"),
 ("the caller's goroutine running a strand inline (Strand.RunUntil, cum)", r"Strand\)\.RunUntil"),
]
for name, rx in incl:
    v=0
    for b in blocks:
        lines=[l for l in b.split("\n") if l.strip() and not LABEL.match(l)]
        if not lines: continue
        x=val(lines[0])
        if x is None: continue
        stack="\n".join(lines)
        if re.search(r"bench:\s+limits", b) or re.search(r"main\.(md5Rate|md5SimdRate|copyRate|measureLimits|pattern)", stack): continue
        if re.search(rx, stack): v+=x
    print(f"| {name} | {v:.0f} ms | {100*v/total:.1f}% |")
