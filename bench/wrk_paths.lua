-- wrk script for bench/load.py --client wrk: each connection's next request is the next path of a file (one path a
-- line, already drawn by popularity), each thread starting at its own place in the list; counts every answer's
-- status and X-Cache-Status, and calls an answer an error unless it is a 2xx with a body. Prints its counts and
-- latency percentiles as "key value" lines after a "-- afterimage --" line, for load.py to read.
--
--   wrk -t2 -c64 -d10s --latency -s bench/wrk_paths.lua http://127.0.0.1:PORT -- PATHS_FILE

local threads = {}

function setup(thread)
    thread:set("thread_number", #threads)
    table.insert(threads, thread)
end

function init(args)
    local paths = {}
    for line in io.lines(args[1]) do
        if line ~= "" then
            paths[#paths + 1] = line
        end
    end
    if #paths == 0 then
        error("no paths in " .. tostring(args[1]))
    end
    requests = {}
    for i, path in ipairs(paths) do
        requests[i] = wrk.format("GET", path, {["Accept-Encoding"] = "gzip"})
    end
    -- Threads start spread over the list, so they do not ask for the same pages in step.
    next_request = (thread_number * 7919) % #requests + 1
    counts = {}
end

function request()
    local req = requests[next_request]
    next_request = next_request % #requests + 1
    return req
end

local function count(key)
    counts[key] = (counts[key] or 0) + 1
end

function response(status, headers, body)
    count("status " .. status)
    local cache = headers["X-Cache-Status"] or headers["x-cache-status"]
    if cache then
        count("cache " .. cache)
    end
    if status < 200 or status > 299 then
        count("bad_status")
    elseif body == nil or #body == 0 then
        count("empty_body")
    end
end

function done(summary, latency, requests_stats)
    local totals = {}
    for _, thread in ipairs(threads) do
        for key, value in pairs(thread:get("counts") or {}) do
            totals[key] = (totals[key] or 0) + value
        end
    end
    io.write("-- afterimage --\n")
    io.write(string.format("requests %d\n", summary.requests))
    io.write(string.format("duration_us %d\n", summary.duration))
    for _, kind in ipairs({"connect", "read", "write", "status", "timeout"}) do
        io.write(string.format("socket_%s %d\n", kind, summary.errors[kind]))
    end
    for _, q in ipairs({50, 90, 99}) do
        io.write(string.format("p%d_us %d\n", q, latency:percentile(q)))
    end
    io.write(string.format("max_us %d\n", latency.max))
    for key, value in pairs(totals) do
        io.write(string.format("%s %d\n", key, value))
    end
end
