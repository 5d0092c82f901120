// Errors name where they happened; Progress reports and cancels; thread setting; devices.
#include "qdq/device.h"
#include "qdq/errors.h"
#include "qdq/progress.h"
#include "qdq/threading.h"

#include <QTest>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace qdq;

class TestCore : public QObject {
    Q_OBJECT
private slots:
    void errorMessagesNameLocation();
    void errorHierarchy();
    void progressReportsAndCancels();
    void progressCancelFromOtherThread();
    void threadSetting();
    void openMpSpinFollowsBusyCores();
    void deviceParsing();
    void cudaStatusNeverThrows();
};

void TestCore::errorMessagesNameLocation()
{
    const FormatError e("header length exceeds file size",
                        {"model.safetensors", "bert.pooler.dense.weight", "data_offsets"});
    QCOMPARE(std::string(e.what()), std::string("header length exceeds file size (file 'model.safetensors', tensor "
                                                "'bert.pooler.dense.weight', field 'data_offsets')"));
    QCOMPARE(e.message(), std::string("header length exceeds file size"));
    QCOMPARE(std::string(e.kind()), std::string("format"));
    const IoError plain("disk full");
    QCOMPARE(std::string(plain.what()), std::string("disk full"));
    const ShapeError onlyField("bad", {{}, {}, "hidden_size"});
    QCOMPARE(std::string(onlyField.what()), std::string("bad (field 'hidden_size')"));
}

void TestCore::errorHierarchy()
{
    auto kindOf = [](auto thrower) -> std::string {
        try {
            thrower();
        } catch (const Error &e) {
            return e.kind();
        }
        return "none";
    };
    QCOMPARE(kindOf([] { throw FormatError("x"); }), std::string("format"));
    QCOMPARE(kindOf([] { throw ShapeError("x"); }), std::string("shape"));
    QCOMPARE(kindOf([] { throw UnsupportedError("x"); }), std::string("unsupported"));
    QCOMPARE(kindOf([] { throw CancelledError(); }), std::string("cancelled"));
    QCOMPARE(kindOf([] { throw IoError("x"); }), std::string("io"));
}

void TestCore::progressReportsAndCancels()
{
    std::vector<ProgressEvent> events;
    Progress p([&](const ProgressEvent &e) { events.push_back(e); });
    p.report("loading", 1, 4);
    p.report("loading", 4, 4);
    QCOMPARE(events.size(), std::size_t(2));
    QCOMPARE(events[0].fraction(), 0.25);
    QCOMPARE(events[1].stage, std::string("loading"));
    QVERIFY(!p.isCancelled());
    p.cancel();
    QVERIFY_THROWS_EXCEPTION(CancelledError, p.report("loading", 2, 4));
    QCOMPARE(events.size(), std::size_t(3)); // reported, then cancelled
    QVERIFY_THROWS_EXCEPTION(CancelledError, checkCancelled(&p));
    checkCancelled(nullptr); // null is allowed and never cancels
    reportProgress(nullptr, "x", 0, 0);
    p.reset();
    p.checkCancelled();
}

void TestCore::progressCancelFromOtherThread()
{
    Progress p;
    std::thread canceller([&p] { p.cancel(); });
    canceller.join();
    QVERIFY_THROWS_EXCEPTION(CancelledError, p.checkCancelled());
}

void TestCore::threadSetting()
{
    QVERIFY(hardwareThreads() >= 1);
    setNumThreads(1);
    QCOMPARE(numThreads(), 1);
    setNumThreads(0);
    QCOMPARE(numThreads(), hardwareThreads());
    setNumThreads(-5);
    QCOMPARE(numThreads(), hardwareThreads());
}

// threading.h: the long spin only where the threads fit beside everything runnable now
void TestCore::openMpSpinFollowsBusyCores()
{
    QVERIFY(runnableTasks() >= 1); // this thread, reading /proc/loadavg
    const int cores = hardwareThreads();
    QVERIFY(!coresAreFree(cores + 1000));
    std::atomic<bool> stop{false};
    std::vector<std::thread> busy;
    for (int i = 0; i < 2 * cores; ++i)
        busy.emplace_back([&stop] {
            while (!stop.load(std::memory_order_relaxed)) {
            }
        });
    const bool free = coresAreFree(1);
    const std::string spin = openMpSpinCount(1);
    stop = true;
    for (std::thread &t : busy)
        t.join();
    QVERIFY(!free);
    QCOMPARE(spin, std::string(kSharedCoresSpin));
}

void TestCore::deviceParsing()
{
    QCOMPARE(parseDevice("cpu"), std::optional<Device>(Device{DeviceType::CPU, 0}));
    QCOMPARE(parseDevice("cuda"), std::optional<Device>(Device{DeviceType::CUDA, 0}));
    QCOMPARE(parseDevice("cuda:3"), std::optional<Device>(Device{DeviceType::CUDA, 3}));
    QCOMPARE(parseDevice("cuda:"), std::optional<Device>());
    QCOMPARE(parseDevice("cuda:-1"), std::optional<Device>());
    QCOMPARE(parseDevice("cuda:1x"), std::optional<Device>());
    QCOMPARE(parseDevice("gpu"), std::optional<Device>());
    QCOMPARE(Device({DeviceType::CUDA, 2}).str(), std::string("cuda:2"));
}

void TestCore::cudaStatusNeverThrows()
{
    const CudaStatus s = cudaStatus();
    QVERIFY(!s.message.empty());
    QCOMPARE(s.available, !s.devices.empty());
    if (!s.compiledIn)
        QVERIFY(!s.available);
}

QTEST_APPLESS_MAIN(TestCore)
#include "tst_core.moc"
