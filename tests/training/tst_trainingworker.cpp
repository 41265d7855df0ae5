// The GUI-side training service: embed, train, suggest and more-like-this on a worker thread,
// on a tiny library made from the backbone test images.
#include "core/importer.h"
#include "core/library.h"
#include "training/service/trainingworker.h"

#include <QSet>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace magpie;
using namespace magpie::training;

class TestTrainingWorker : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void embedTrainSuggest();
    void reportsMissingBackbone();
    void retrainDoesNotWaitForTheWholeArchive();
};

void TestTrainingWorker::retrainDoesNotWaitForTheWholeArchive()
{
    // The GUI asks for an embedding and then a retrain. On a long archive the
    // embedding runs in parts with the answered images first, so the retrain
    // runs after the first part, not after the last one.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.library"));
    QString err;
    auto lib = Library::create(path, &err);
    QVERIFY2(lib, qPrintable(err));
    QCOMPARE(importFolder(*lib, QStringLiteral(MAGPIE_TEST_DATA "/training")).added, qint64(5));
    const auto cat = lib->createCategory(QStringLiteral("two answers"), CategoryKind::Binary);
    QVERIFY(cat);
    const auto images = lib->images(ImageStatus::Ok);
    QVERIFY(lib->answer({images[4].id, cat->id, 0, AnswerValue::Yes}));
    QVERIFY(lib->answer({images[3].id, cat->id, 0, AnswerValue::No}));

    TrainingWorker worker(path, QStringLiteral(MAGPIE_BACKBONE_FILE));
    worker.setEmbedPart(2);
    QStringList order;
    qint64 embeddedInAll = -1;
    connect(&worker, &TrainingWorker::trained, this, [&] { order << QStringLiteral("trained"); });
    connect(&worker, &TrainingWorker::embedded, this, [&](const EmbedReport &r) {
        order << QStringLiteral("embedded");
        embeddedInAll = r.embedded;
    });
    QSignalSpy failed(&worker, &TrainingWorker::failed);
    worker.requestEmbed();
    worker.requestTrain(cat->id);
    QTRY_COMPARE_WITH_TIMEOUT(order.size(), 2, 120000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(1).toString()));
    QCOMPARE(order, (QStringList{QStringLiteral("trained"), QStringLiteral("embedded")}));
    QCOMPARE(embeddedInAll, qint64(5)); // the three parts together
}

void TestTrainingWorker::embedTrainSuggest()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.library"));
    QString err;
    auto lib = Library::create(path, &err);
    QVERIFY2(lib, qPrintable(err));
    const ImportReport ir = importFolder(*lib, QStringLiteral(MAGPIE_TEST_DATA "/training"));
    QCOMPARE(ir.added, qint64(5));
    const auto cat = lib->createCategory(QStringLiteral("initial"), CategoryKind::Binary);
    QVERIFY(cat);

    TrainingWorker worker(path, QStringLiteral(MAGPIE_BACKBONE_FILE));
    QSignalSpy embedded(&worker, &TrainingWorker::embedded);
    QSignalSpy trained(&worker, &TrainingWorker::trained);
    QSignalSpy suggested(&worker, &TrainingWorker::suggested);
    QSignalSpy failed(&worker, &TrainingWorker::failed);
    worker.requestEmbed();
    QTRY_COMPARE_WITH_TIMEOUT(embedded.size() + failed.size(), 1, 120000); // the spy may fire before a wait()
    QCOMPARE(embedded.first().first().value<EmbedReport>().embedded, qint64(5));

    // Answers from this thread, through its own Library object.
    QVector<Answer> answers;
    for (const ImageRecord &im : lib->images(ImageStatus::Ok)) {
        if (im.relPath.startsWith(QStringLiteral("themes_img_00007"))) continue; // left to suggest
        Answer a;
        a.imageId = im.id;
        a.categoryId = cat->id;
        a.value = im.relPath.startsWith(QStringLiteral("initials")) ? AnswerValue::Yes : AnswerValue::No;
        answers.push_back(a);
    }
    QCOMPARE(lib->answerBatch(answers), 4);
    worker.requestTrain(cat->id);
    QTRY_COMPARE_WITH_TIMEOUT(trained.size() + failed.size(), 1, 60000);
    QVERIFY(trained.first().first().value<TrainReport>().modelVersion > 0);
    QCOMPARE(trained.first().first().value<TrainReport>().categoryId, cat->id); // the GUI shows it only in its category
    worker.requestSuggest(cat->id, Queue::Harvest, 10);
    QTRY_COMPARE_WITH_TIMEOUT(suggested.size() + failed.size(), 1, 60000);
    const auto list = suggested.first().at(1).value<QVector<Suggestion>>();
    QCOMPARE(list.size(), 1); // only the unanswered image
    QVERIFY(list.first().path.endsWith(QStringLiteral("themes_img_00007.png")));

    // More like this (the GUI's Queue > More Like This): the other four images.
    QSignalSpy similar(&worker, &TrainingWorker::similarFound);
    const ImageId seed = list.first().imageId;
    worker.requestSimilar(seed, 10);
    QTRY_COMPARE_WITH_TIMEOUT(similar.size() + failed.size(), 1, 60000);
    QCOMPARE(similar.first().at(0).toLongLong(), seed);
    const auto near = similar.first().at(1).value<QVector<qint64>>();
    QCOMPARE(near.size(), 4);
    QVERIFY(!near.contains(seed));
    QCOMPARE(failed.size(), 0);

    // A chain (Queue > Chain to Here): from the seed to the farthest of the
    // others, through the three left, each once
    QSignalSpy chained(&worker, &TrainingWorker::chainFound);
    worker.requestChain(seed, near.last(), 8);
    QTRY_COMPARE_WITH_TIMEOUT(chained.size() + failed.size(), 1, 60000);
    QCOMPARE(failed.size(), 0);
    const auto chain = chained.first().at(2).value<QVector<qint64>>();
    QCOMPARE(chain.size(), 5);
    QCOMPARE(chain.first(), seed);
    QCOMPARE(chain.last(), near.last());
    QCOMPARE(QSet<qint64>(chain.begin(), chain.end()).size(), 5);
}

void TestTrainingWorker::reportsMissingBackbone()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.library"));
    QString err;
    QVERIFY(Library::create(path, &err));
    TrainingWorker worker(path, dir.filePath(QStringLiteral("none.mbb")));
    QSignalSpy failed(&worker, &TrainingWorker::failed);
    worker.requestEmbed();
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, 30000);
    QCOMPARE(failed.first().first().toString(), QStringLiteral("embed"));
}

QTEST_GUILESS_MAIN(TestTrainingWorker)
#include "tst_trainingworker.moc"
