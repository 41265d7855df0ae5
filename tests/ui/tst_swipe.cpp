// The swipe view as a person uses it: keys, undo, letters, a new model's
// queue, a corrupt image, closing with answers in flight. Offscreen platform.
#include "core/importer.h"
#include "core/library.h"
#include "ui/mainwindow.h"
#ifdef MAGPIE_HAVE_TRAINING
#include "training/service/curator.h"
#endif
#include "ui/swipecontroller.h"
#include "ui/historystrip.h"
#include "ui/keymap.h"
#include "ui/swipeview.h"

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QSemaphore>
#include <thread>
#include <chrono>
#include <QThread>
#include <QTimer>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QSignalSpy>
#include <QTest>

using namespace magpie;

class tst_Swipe : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    QString m_libPath;
    QString m_archive;

    std::unique_ptr<Library> lib() { return Library::open(m_libPath, Library::Mode::ReadOnly, nullptr); }

    static void press(QWidget *w, Qt::Key key, const QString &text = {})
    {
        QKeyEvent e(QEvent::KeyPress, key, Qt::NoModifier, text);
        QApplication::sendEvent(w, &e);
    }

    // As a person does: look at the image (wait until it is shown), then press.
    static void answerKey(MainWindow *w, Qt::Key key, const QString &text = {})
    {
        QVERIFY(QTest::qWaitFor([&] { return w->controller()->currentReady(); }, 5000));
        press(w->swipeView(), key, text);
    }

    // Starts a background job and returns the text of the report box it ends
    // with (accepted as a person would); empty if none came within 20 s.
    QString reportOf(const std::function<void()> &start)
    {
        QString told;
        QTimer reading;
        connect(&reading, &QTimer::timeout, this, [&told] {
            if (auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget())) {
                told = box->text();
                box->accept();
            }
        });
        reading.start(20);
        start();
        (void)QTest::qWaitFor([&] { return !told.isEmpty(); }, 20000);
        return told;
    }

    // A window on the test library showing `category`, with its first image decoded.
    std::unique_ptr<MainWindow> window(const QString &category)
    {
        auto w = std::make_unique<MainWindow>();
        w->show();
        if (!w->openLibrary(m_libPath))
            return nullptr;
        w->selectCategory(category);
        if (!QTest::qWaitFor([&] { return w->controller()->currentReady(); }, 10000))
            return nullptr;
        return w;
    }

private Q_SLOTS:
    void initTestCase()
    {
        // a small real archive: copies of the bundled sample initials
        m_archive = m_tmp.filePath(QStringLiteral("archive"));
        QDir().mkpath(m_archive);
        QDir sample(QStringLiteral(MAGPIE_SAMPLE_DIR "/initials"));
        int n = 0;
        for (const QString &f : sample.entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name)) {
            if (n++ >= 60)
                break;
            QVERIFY(QFile::copy(sample.filePath(f), m_archive + QLatin1Char('/') + f));
        }
        m_libPath = m_tmp.filePath(QStringLiteral("swipe.magpie"));
        auto l = Library::create(m_libPath, nullptr);
        QVERIFY(l);
        QVERIFY(importFolder(*l, m_archive).error.isEmpty());
        QVERIFY(l->createCategory(QStringLiteral("rocks"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("Initials"), CategoryKind::ClassSet,
                                  {QStringLiteral("A"), QStringLiteral("B"), QStringLiteral("C"), QStringLiteral("none")}));
        QVERIFY(l->createCategory(QStringLiteral("finds"), CategoryKind::ClassSet,
                                  {QStringLiteral("rock"), QStringLiteral("fossil"), QStringLiteral("1"), QStringLiteral("hand")}));
        QVERIFY(l->createCategory(QStringLiteral("undo"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("undoA"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("small"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("reopen"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("undoB"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("queue"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("close"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("keepcard"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("corrupt"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("firstcard"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("switch"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("trash"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("csvin"), CategoryKind::Binary));
        QVERIFY(l->createCategory(QStringLiteral("folders"), CategoryKind::ClassSet, {QStringLiteral("A"), QStringLiteral("B")}));
        // answers made elsewhere (the CLI, an import of labels), no model yet
        const auto preset = l->createCategory(QStringLiteral("preset"), CategoryKind::Binary);
        QVERIFY(preset);
        const auto images = l->images(ImageStatus::Ok, 6);
        QCOMPARE(images.size(), 6);
        for (int i = 0; i < 6; ++i)
            QVERIFY(l->answer({images[i].id, preset->id, 0, i % 2 ? AnswerValue::Yes : AnswerValue::No}));
    }

    void answersNoModelHasSeenAreTrainedOnAtOnce()
    {
#ifdef MAGPIE_HAVE_TRAINING
        // Opening a theme whose answers no model has seen trains on them in the
        // background at once, not after the next 20 answers.
        const qint64 cat = lib()->category(QStringLiteral("preset"))->id;
        QVERIFY(lib()->modelVersions(cat).isEmpty());
        auto w = window(QStringLiteral("preset"));
        QVERIFY(w);
        QTRY_VERIFY_WITH_TIMEOUT(!lib()->modelVersions(cat).isEmpty(), 60000);
        const auto versions = lib()->modelVersions(cat);
        QCOMPARE(versions.size(), 1);
        QVERIFY(versions.first().metricsJson.contains(QStringLiteral("\"answers\":6")));
        // reopening it with nothing new does not train again
        w.reset();
        auto again = window(QStringLiteral("preset"));
        QVERIFY(again);
        QTest::qWait(1500);
        QCOMPARE(lib()->modelVersions(cat).size(), 1);
#else
        QSKIP("built without training");
#endif
    }

    void aTrainedThemeOpensOnItsLikeliestYes()
    {
#ifdef MAGPIE_HAVE_TRAINING
        // A theme with a model opens on the model's queue: in harvest, the
        // first card is the likeliest yes, not the library's first unanswered
        // image (which used to stay on screen, scored afterwards).
        {
            auto l = Library::open(m_libPath, Library::Mode::ReadWrite, nullptr);
            QVERIFY(l);
            const auto cat = l->createCategory(QStringLiteral("likeliest"), CategoryKind::Binary);
            QVERIFY(cat);
            const auto images = l->images(ImageStatus::Ok, 40);
            for (int i = 20; i < 32; ++i)
                QVERIFY(l->answer({images[i].id, cat->id, 0, i % 3 ? AnswerValue::No : AnswerValue::Yes}));
        }
        const qint64 cat = lib()->category(QStringLiteral("likeliest"))->id;
        {
            auto w = window(QStringLiteral("likeliest"));
            QVERIFY(w);
            QTRY_VERIFY_WITH_TIMEOUT(!lib()->modelVersions(cat).isEmpty(), 60000);
            w->controller()->setMode(QStringLiteral("harvest")); // remembered for the next window
        }
        auto w = window(QStringLiteral("likeliest"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        QCOMPARE(c->mode(), QStringLiteral("harvest"));
        QVERIFY(c->current().confidence >= 0); // the model picked it
        QTRY_VERIFY_WITH_TIMEOUT(c->upcomingIds(2).size() == 2, 10000);
        QVERIFY(c->modelActive());
        const float first = c->current().confidence;
        answerKey(w.get(), Qt::Key_Down); // skip: the next one scores no higher
        QVERIFY(c->current().confidence >= 0);
        QVERIFY2(c->current().confidence <= first,
                 qPrintable(QStringLiteral("%1 after %2").arg(c->current().confidence).arg(first)));
        c->setMode(QStringLiteral("mix"));
#else
        QSKIP("built without training");
#endif
    }

    void switchingTheQueueShowsItsFirstImage()
    {
        // Tab or Queue -> teach: the card on screen was the old queue's; the
        // new queue's first image takes its place (the review saw the pill say
        // "teach" over a harvest card). The card left is not answered.
        auto w = window(QStringLiteral("switch"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        const ImageId before = c->current().image.id;
        QVERIFY(before);
        c->setMode(QStringLiteral("teach"));
        QTRY_VERIFY_WITH_TIMEOUT(c->current().image.id != before, 5000);
        QCOMPARE(c->current().queue, QStringLiteral("teach"));
        answerKey(w.get(), Qt::Key_Right);
        QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        auto l = lib();
        const auto answers = l->answers(l->category(QStringLiteral("switch"))->id);
        QCOMPARE(answers.size(), 1);
        QVERIFY(answers.first().imageId != before);
        c->setMode(QStringLiteral("mix")); // remembered for the next window
    }

    void keysReachTheLibrary()
    {
        auto w = window(QStringLiteral("rocks"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        const ImageId first = c->current().image.id;
        QTest::qWait(30); // a person takes a moment
        answerKey(w.get(), Qt::Key_Right);
        QVERIFY(c->current().image.id != first); // the next image at once
        const ImageId second = c->current().image.id;
        answerKey(w.get(), Qt::Key_Left);
        answerKey(w.get(), Qt::Key_Space);
        answerKey(w.get(), Qt::Key_L); // L is yes too
        QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        auto l = lib();
        const auto cat = l->category(QStringLiteral("rocks"));
        QHash<ImageId, Answer> got;
        for (const Answer &a : l->answers(cat->id))
            got.insert(a.imageId, a);
        QCOMPARE(got.size(), 4);
        QCOMPARE(got[first].value, AnswerValue::Yes);
        QVERIFY(got[first].durationMs >= 25); // how long the person took is recorded
        QCOMPARE(got[second].value, AnswerValue::No);
        QCOMPARE(c->history().size(), size_t(4));
        QCOMPARE(c->history().front().answer.value, AnswerValue::Yes);
        QVERIFY(!w->swipeView()->latencies().isEmpty());
    }

    void undoRestores()
    {
        auto w = window(QStringLiteral("undo"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        const ImageId first = c->current().image.id;
        answerKey(w.get(), Qt::Key_Right);
        const ImageId second = c->current().image.id;
        answerKey(w.get(), Qt::Key_Left);
        press(w->swipeView(), Qt::Key_Backspace);
        QCOMPARE(c->current().image.id, second); // back to the image just answered
        QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        auto l = lib();
        auto answers = l->answers(l->category(QStringLiteral("undo"))->id);
        QCOMPARE(answers.size(), 1);
        QCOMPARE(answers[0].imageId, first);
        // Ctrl+Z undoes too
        QKeyEvent ctrlZ(QEvent::KeyPress, Qt::Key_Z, Qt::ControlModifier);
        QApplication::sendEvent(w->swipeView(), &ctrlZ);
        QCOMPARE(c->current().image.id, first);
        QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        QCOMPARE(lib()->answers(l->category(QStringLiteral("undo"))->id).size(), 0);
    }

    void smallScansGrowAtMostFourTimes()
    {
        // A small scan on a large window is enlarged (a 96-px initial should
        // read on a large screen), but not into blocks: at most four times its
        // own size, whatever the decoding already did.
        auto w = window(QStringLiteral("small"));
        QVERIFY(w);
        w->resize(1600, 1100);
        SwipeController *c = w->controller();
        int enlarged = 0, beyondTwice = 0;
        for (int i = 0; i < 6; ++i) {
            QVERIFY(QTest::qWaitFor([&] { return c->currentReady() && !w->swipeView()->shownSize().isEmpty(); }, 5000));
            const ImageRecord &rec = c->current().image;
            const QSize shown = w->swipeView()->shownSize();
            QVERIFY2(shown.width() <= 4 * rec.width + 1 && shown.height() <= 4 * rec.height + 1,
                     qPrintable(QStringLiteral("%1x%2 shown at %3x%4").arg(rec.width).arg(rec.height).arg(shown.width()).arg(shown.height())));
            enlarged += shown.width() > rec.width;
            beyondTwice += shown.width() > 2 * rec.width + 1;
            answerKey(w.get(), Qt::Key_Down); // skip to the next
        }
        QVERIFY(enlarged > 0); // the premise: the sample's scans are small for this window
        QVERIFY(beyondTwice > 0); // and more than doubled where the window has room
    }

    void historyOutlivesTheWindow()
    {
        // Answers, close Magpie, open it again: the strip shows the answers
        // and Backspace undoes the newest, as before the restart.
        ImageId first = 0, second = 0;
        {
            auto w = window(QStringLiteral("reopen"));
            QVERIFY(w);
            SwipeController *c = w->controller();
            first = c->current().image.id;
            answerKey(w.get(), Qt::Key_Right);
            second = c->current().image.id;
            answerKey(w.get(), Qt::Key_Left);
        } // closing commits every answer
        auto w = window(QStringLiteral("reopen"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        QTRY_COMPARE_WITH_TIMEOUT(c->history().size(), size_t(2), 5000);
        QCOMPARE(c->history()[0].answer.imageId, second);
        QCOMPARE(c->history()[0].answer.value, AnswerValue::No);
        QCOMPARE(c->history()[1].answer.imageId, first);
        QCOMPARE(c->sessionAnswers(), 0);
        press(w->swipeView(), Qt::Key_Backspace);
        QCOMPARE(c->current().image.id, second);
        QCOMPARE(c->sessionAnswers(), 0); // an earlier session's answer undone: this one's count stays at 0, not -1
        answerKey(w.get(), Qt::Key_Right);
        QCOMPARE(c->sessionAnswers(), 1);
        press(w->swipeView(), Qt::Key_Backspace); // this session's answer undone
        QCOMPARE(c->sessionAnswers(), 0);
        QCOMPARE(c->current().image.id, second);
        QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        auto l = lib();
        const auto left = l->answers(l->category(QStringLiteral("reopen"))->id);
        QCOMPARE(left.size(), 1);
        QCOMPARE(left[0].imageId, first);
    }

    void undoStaysInItsCategory()
    {
        // The person answers in one category, moves to another and undoes more
        // often than they answered there: the other category's answer and card
        // are not touched, and its decisions come back with it.
        auto w = window(QStringLiteral("undoA"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        const ImageId inA = c->current().image.id;
        answerKey(w.get(), Qt::Key_Right);
        QCOMPARE(c->history().size(), size_t(1));
        w->selectCategory(QStringLiteral("undoB"));
        QVERIFY(QTest::qWaitFor([&] { return c->currentReady(); }, 5000));
        QCOMPARE(c->history().size(), size_t(0)); // the strip shows undoB's decisions only
        const ImageId firstB = c->current().image.id;
        answerKey(w.get(), Qt::Key_Left);
        press(w->swipeView(), Qt::Key_Backspace);
        QCOMPARE(c->current().image.id, firstB);
        QSignalSpy said(c, &SwipeController::message);
        press(w->swipeView(), Qt::Key_Backspace); // nothing left in undoB
        QCOMPARE(c->current().image.id, firstB);  // not undoA's image
        QCOMPARE(said.size(), 1);
        QVERIFY(said.first().first().toString().contains(QStringLiteral("undoB")));
        QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        auto l = lib();
        QCOMPARE(l->answers(l->category(QStringLiteral("undoB"))->id).size(), 0);
        const auto a = l->answers(l->category(QStringLiteral("undoA"))->id);
        QCOMPARE(a.size(), 1);
        QCOMPARE(a[0].imageId, inA);
        QCOMPARE(a[0].value, AnswerValue::Yes);
        w->selectCategory(QStringLiteral("undoA"));
        QCOMPARE(c->history().size(), size_t(1));
        QCOMPARE(c->history().front().answer.imageId, inA);
    }

    void lettersInAClassSet()
    {
        auto w = window(QStringLiteral("Initials"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        const ImageId first = c->current().image.id;
        answerKey(w.get(), Qt::Key_C, QStringLiteral("c"));
        const ImageId second = c->current().image.id;
        answerKey(w.get(), Qt::Key_0, QStringLiteral("0")); // the "none" class
        answerKey(w.get(), Qt::Key_Right); // no model guess: → alone cannot name a class
        QVERIFY(c->current().image.id != second);
        QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        auto l = lib();
        const auto cat = *l->category(QStringLiteral("Initials"));
        QHash<ImageId, ClassId> got;
        for (const Answer &a : l->answers(cat.id))
            got.insert(a.imageId, a.classId);
        QCOMPARE(got.size(), 2);
        QCOMPARE(got[first], cat.classes[2].id);  // C
        QCOMPARE(got[second], cat.classes[3].id); // none
    }

    void namedClassesAnswerWithDigits()
    {
        // Classes with longer names than one letter take 1-9 in order (a digit
        // that is itself a class name is skipped); "none" beside letters takes 0.
        auto l = lib();
        const Category finds = *l->category(QStringLiteral("finds"));
        const Category initials = *l->category(QStringLiteral("Initials"));
        l.reset();
        const auto keys = classKeys(finds);
        QCOMPARE(keys.size(), 4);
        QCOMPARE(keys[0], qMakePair(QStringLiteral("2"), finds.classes[0].id)); // rock (1 is a class)
        QCOMPARE(keys[1], qMakePair(QStringLiteral("3"), finds.classes[1].id)); // fossil
        QCOMPARE(keys[2], qMakePair(QStringLiteral("1"), finds.classes[2].id)); // the class "1"
        QCOMPARE(keys[3], qMakePair(QStringLiteral("4"), finds.classes[3].id)); // hand
        const auto letters = classKeys(initials);
        QCOMPARE(letters.size(), 4);
        QCOMPARE(letters[0].first, QStringLiteral("A"));
        QCOMPARE(letters[3], qMakePair(QStringLiteral("0"), initials.classes[3].id)); // none
        Category many;
        for (int i = 0; i < 12; ++i)
            many.classes.append({ClassId(i + 1), QStringLiteral("kind%1").arg(i), i});
        const auto nine = classKeys(many);
        QCOMPARE(nine.size(), 9); // past 9: no key
        QCOMPARE(nine.last(), qMakePair(QStringLiteral("9"), ClassId(9)));

        auto w = window(QStringLiteral("finds"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        const ImageId first = c->current().image.id;
        answerKey(w.get(), Qt::Key_3, QStringLiteral("3"));
        const ImageId second = c->current().image.id;
        answerKey(w.get(), Qt::Key_1, QStringLiteral("1"));
        const ImageId third = c->current().image.id;
        answerKey(w.get(), Qt::Key_0, QStringLiteral("0")); // no class has 0 here: nothing happens
        QCOMPARE(c->current().image.id, third);
        {
            // the keypad's 4 (hand) answers too
            QKeyEvent pad(QEvent::KeyPress, Qt::Key_4, Qt::KeypadModifier, QStringLiteral("4"));
            QApplication::sendEvent(w->swipeView(), &pad);
        }
        QVERIFY(c->current().image.id != third);
        QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        QHash<ImageId, ClassId> got;
        for (const Answer &a : lib()->answers(finds.id))
            got.insert(a.imageId, a.classId);
        QCOMPARE(got.size(), 3);
        QCOMPARE(got[first], finds.classes[1].id);  // fossil
        QCOMPARE(got[second], finds.classes[2].id); // "1"
        QCOMPARE(got[third], finds.classes[3].id);  // hand, from the keypad
    }

    void newModelKeepsCurrentImage()
    {
        auto w = window(QStringLiteral("queue"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        const Proposal current = c->current();
        // a new model version proposes a different order, with the current image in it
        auto l = lib();
        const auto images = l->images(ImageStatus::Ok, 60);
        QVector<Proposal> fresh;
        for (int i = images.size() - 1; i >= images.size() - 6; --i) {
            Proposal p;
            p.image = images[i];
            p.queue = QStringLiteral("harvest");
            p.guess = QStringLiteral("yes");
            p.confidence = 0.9 - 0.01 * (images.size() - i);
            p.modelVersion = 2;
            fresh << p;
        }
        Proposal same = current;
        same.confidence = 0.42;
        same.modelVersion = 2;
        fresh.insert(2, same);
        c->refreshQueue(fresh);
        QCOMPARE(c->current().image.id, current.image.id); // no jump
        QCOMPARE(c->current().modelVersion, 2);
        QCOMPARE(c->current().confidence, 0.42);
        answerKey(w.get(), Qt::Key_Right);
        QCOMPARE(c->current().image.id, fresh[0].image.id); // the new order follows
        QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        const auto answers = lib()->answers(lib()->category(QStringLiteral("queue"))->id);
        QCOMPARE(answers.size(), 1);
        QCOMPARE(answers[0].modelVersion, 2); // the proposing model is recorded
    }

    void firstCardGetsItsGuessWhenScored()
    {
        // The first card is picked before any model scored the queue; when the
        // guess for it comes (MainWindow asks the worker), it is filled in once.
        auto w = window(QStringLiteral("firstcard"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        QVERIFY(c->hasCurrent());
        const Proposal first = c->current();
        QVERIFY(first.confidence < 0);
        QSignalSpy changed(c, &SwipeController::currentChanged);
        c->fillCurrentGuess(first.image.id + 100000, QStringLiteral("yes"), 0.3f); // not the current image
        QVERIFY(c->current().confidence < 0);
        QCOMPARE(changed.count(), 0);
        c->fillCurrentGuess(first.image.id, QStringLiteral("yes"), 0.7f);
        QCOMPARE(c->current().image.id, first.image.id);
        QCOMPARE(c->current().confidence, 0.7f);
        QCOMPARE(changed.count(), 1);
        c->fillCurrentGuess(first.image.id, QStringLiteral("yes"), 0.2f); // a scored card keeps its guess
        QCOMPARE(c->current().confidence, 0.7f);
        QCOMPARE(c->current().modelVersion, first.modelVersion); // no model proposed it
    }

    void corruptImageIsSkipped()
    {
        // an image that was fine at import and is damaged on disk now
        auto l = Library::open(m_libPath, Library::Mode::ReadOnly, nullptr);
        const auto catId = l->category(QStringLiteral("corrupt"))->id;
        // the first image the default queue (mix, no model yet) will show
        const ImageId victim = l->unanswered(catId, 1, kShuffleSeed).first().id;
        const QString path = l->image(victim)->absPath;
        l.reset();
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write("garbage, not a JPEG any more");
        f.close();

        auto w = window(QStringLiteral("corrupt"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        QCOMPARE(c->current().image.id, victim);
        QVERIFY2(c->currentError().contains(QStringLiteral("not an image")), qPrintable(c->currentError()));
        const QImage shot = w->swipeView()->grab().toImage();
        QVERIFY(!shot.isNull()); // the placeholder paints
        answerKey(w.get(), Qt::Key_Right);
        QVERIFY(c->current().image.id != victim); // moved on
        QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        QCOMPARE(lib()->answers(catId).size(), 0); // and recorded nothing for it
    }

    void importKeepsTheCardOnScreen()
    {
        // Importing a folder while judging: the new images join the queue, the
        // card being judged stays.
        auto w = window(QStringLiteral("keepcard"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        for (int i = 0; i < 5; ++i) { // an image an earlier test damaged on disk is passed over
            QVERIFY(QTest::qWaitFor([&] { return c->currentReady(); }, 5000));
            if (c->currentError().isEmpty())
                break;
            press(w->swipeView(), Qt::Key_Down);
        }
        QVERIFY(c->currentError().isEmpty());
        answerKey(w.get(), Qt::Key_Down); // a skipped image comes round again later: the card is not the queue's first
        QVERIFY(QTest::qWaitFor([&] { return c->currentReady(); }, 5000));
        QVERIFY(c->currentError().isEmpty());
        const ImageId shown = c->current().image.id;
        QTemporaryDir more;
        QDir sample(QStringLiteral(MAGPIE_SAMPLE_DIR "/themes"));
        int n = 0;
        for (const QString &f : sample.entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name))
            if (n++ < 5)
                QVERIFY(QFile::copy(sample.filePath(f), more.filePath(f)));
        bool done = false;
        w->importFolder(more.path(), [&] { done = true; });
        QTRY_VERIFY_WITH_TIMEOUT(done, 20000);
        QTest::qWait(200); // the queue's new fetch comes back
        QCOMPARE(c->current().image.id, shown);
        answerKey(w.get(), Qt::Key_Right);
        QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        const auto a = lib()->answers(lib()->category(QStringLiteral("keepcard"))->id);
        QCOMPARE(a.size(), 2);
        QCOMPARE(a.last().imageId, shown);
        QCOMPARE(a.last().value, AnswerValue::Yes);
    }

    void aClassKeyHintNamesTheKeys()
    {
        // "Press the letter of the class" suits A-Z only: numbered classes get their keys named
        const auto set = [](const QStringList &names) {
            Category c;
            c.kind = CategoryKind::ClassSet;
            for (int i = 0; i < names.size(); ++i)
                c.classes << ClassInfo{i + 1, names[i], i};
            return c;
        };
        QCOMPARE(SwipeController::classKeysHint(set({QStringLiteral("A"), QStringLiteral("B")})),
                 QStringLiteral("Press the letter of the class (or Space to skip)."));
        QCOMPARE(SwipeController::classKeysHint(set({QStringLiteral("A"), QStringLiteral("B"), QStringLiteral("none")})),
                 QStringLiteral("Press the letter of the class, or 0 none (or Space to skip)."));
        QCOMPARE(SwipeController::classKeysHint(set({QStringLiteral("A"), QStringLiteral("rock"), QStringLiteral("hand")})),
                 QStringLiteral("Press the letter of the class, or 1 rock, 2 hand (or Space to skip)."));
        QCOMPARE(SwipeController::classKeysHint(set({QStringLiteral("1"), QStringLiteral("2")})),
                 QStringLiteral("Press the class's key: 1, 2 (or Space to skip)."));
        QCOMPARE(SwipeController::classKeysHint(set({QStringLiteral("animal"), QStringLiteral("portrait"),
                                                     QStringLiteral("food"), QStringLiteral("other")})),
                 QStringLiteral("Press the class's key: 1 animal, 2 portrait, 3 food, 4 other (or Space to skip)."));
    }

    void theSampleEmbedsOnceWithABarThatOnlyRises()
    {
#ifdef MAGPIE_HAVE_TRAINING
        // A new sample library imports two folders, then makes a category on
        // its own backbone. Its embedding waits for all of that: one run whose
        // bar counts every image with both backbones from its first step and
        // never falls back (it fell from 80 % to 37 % when embedding began
        // after the first folder).
        if (training::Curator::resolveBackbone(QStringLiteral("letters")).isEmpty())
            QSKIP("the letters backbone is not installed: the sample's Initials have no backbone of their own");
        QTemporaryDir home;
        const QString path = home.filePath(QStringLiteral("sample.magpie"));
        MainWindow w;
        w.show();
        QVERIFY(w.openLibrary(path, true));
        auto *bar = w.findChild<QProgressBar *>(QStringLiteral("jobProgress"));
        auto *text = w.findChild<QLabel *>(QStringLiteral("jobText"));
        QVERIFY(bar && text);
        QVector<QPair<int, int>> seen; // (value, maximum) of the embedding bar
        QTimer watch;
        connect(&watch, &QTimer::timeout, this, [&] {
            if (bar->isVisible() && text->text().startsWith(QStringLiteral("embedding"))
                && (seen.isEmpty() || seen.last() != qMakePair(bar->value(), bar->maximum())))
                seen.append({bar->value(), bar->maximum()});
        });
        watch.start(5);
        bool imported = false;
        w.importSample(QStringLiteral(MAGPIE_SAMPLE_DIR), [&] { imported = true; });
        QTRY_VERIFY_WITH_TIMEOUT(imported, 60000);
        const auto sample = Library::open(path, Library::Mode::ReadOnly, nullptr);
        QVERIFY(sample);
        const qint64 images = sample->counts().ok; // what is embedded
        QVERIFY(images > 100);
        // the embedding shows, then goes when done
        QTRY_VERIFY_WITH_TIMEOUT(!seen.isEmpty(), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(!bar->isVisible(), 120000);
        watch.stop();
        QVERIFY2(seen.size() >= 3, qPrintable(QStringLiteral("%1 steps seen").arg(seen.size())));
        for (int i = 0; i < seen.size(); ++i) {
            QCOMPARE(seen[i].second, int(2 * images)); // the library's backbone and the letters one
            if (i > 0)
                QVERIFY2(seen[i].first >= seen[i - 1].first,
                         qPrintable(QStringLiteral("the bar fell from %1 to %2").arg(seen[i - 1].first).arg(seen[i].first)));
        }
#else
        QSKIP("built without the training engine: nothing is embedded");
#endif
    }

    void anotherLibrarysStripShowsItsOwnImages()
    {
        // Image ids start again at 1 in every library: after opening another
        // one, the strip of decisions shows that library's pictures, not the
        // ones the same ids had before (it showed the sample's initials in a
        // library of portraits).
        QTemporaryDir tmp;
        const auto make = [&](const QString &name, Qt::GlobalColor colour) {
            const QString dir = tmp.filePath(name);
            QDir().mkpath(dir);
            for (int i = 0; i < 3; ++i) {
                QImage img(120 + 10 * i, 90, QImage::Format_RGB32);
                img.fill(colour);
                img.setPixel(i, 0, qRgb(i, i, i)); // three different files
                if (!img.save(QStringLiteral("%1/%2.png").arg(dir).arg(i)))
                    return QString();
            }
            const QString path = tmp.filePath(name + QStringLiteral(".magpie"));
            auto l = Library::create(path, nullptr);
            if (!l || !importFolder(*l, dir).error.isEmpty() || !l->createCategory(QStringLiteral("t"), CategoryKind::Binary))
                return QString();
            return path;
        };
        const QString red = make(QStringLiteral("red"), Qt::red), blue = make(QStringLiteral("blue"), Qt::blue);
        QVERIFY(!red.isEmpty() && !blue.isEmpty());
        MainWindow w;
        w.show();
        auto *strip = w.findChild<HistoryStrip *>();
        QVERIFY(strip);
        const auto answerOne = [&] {
            SwipeController *c = w.controller();
            QVERIFY(QTest::qWaitFor([&] { return c->currentReady(); }, 5000));
            press(w.swipeView(), Qt::Key_Right);
            QTRY_COMPARE_WITH_TIMEOUT(c->pendingCommits(), 0, 5000);
        };
        QVERIFY(w.openLibrary(red));
        w.selectCategory(QStringLiteral("t"));
        for (int i = 0; i < 3; ++i) // every id of this library is drawn in the strip once
            answerOne();
        strip->grab();
        QVERIFY(w.openLibrary(blue));
        w.selectCategory(QStringLiteral("t"));
        answerOne();
        const QImage shot = strip->grab().toImage();
        const QColor centre = shot.pixelColor(8 + 76 / 2, shot.height() / 2); // the newest decision's cell
        QVERIFY2(centre.blue() > 150 && centre.red() < 100,
                 qPrintable(QStringLiteral("the newest decision is drawn as %1").arg(centre.name())));
    }

    void deletingACategorySavesItsAnswersFirst()
    {
        // Two answers still being written when the person deletes the
        // category: both are in the saved CSV, the category is gone from the
        // list and the card, and the other categories stay.
        auto w = window(QStringLiteral("trash"));
        QVERIFY(w);
        SwipeController *c = w->controller();
        // The database thread is held up for a while, as by a slow disk, so
        // the two answers are still queued for writing when Delete is chosen:
        // the question must count them, and the CSV hold them.
        QVERIFY(QTest::qWaitFor([&] { return c->currentReady(); }, 5000));
        // held until Delete is chosen (then 0.3 s more; 20 s at most, so a failure cannot hang the test)
        auto held = std::make_shared<QSemaphore>(0);
        QMetaObject::invokeMethod(c->libraryWorker(), [held] { (void)held->tryAcquire(1, 20000); }, Qt::QueuedConnection);
        // a yes and a no (an earlier test's damaged file, if it comes up, records nothing)
        for (int answered = 0, i = 0; answered < 2 && i < 10; ++i) {
            QVERIFY(QTest::qWaitFor([&] { return c->currentReady(); }, 5000));
            const bool counts = c->currentError().isEmpty();
            press(w->swipeView(), answered == 0 ? Qt::Key_Right : Qt::Key_Left);
            answered += counts ? 1 : 0;
        }
        QVERIFY(c->pendingCommits() > 0); // still being written
        QAction *del = nullptr;
        for (QAction *a : w->findChildren<QAction *>())
            if (a->text() == QStringLiteral("&Delete\u2026"))
                del = a;
        QVERIFY(del);
        QString asked, told;
        QTimer answering; // answer the question as the person would, then read where the answers went
        connect(&answering, &QTimer::timeout, this, [&asked, &told] {
            auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
            if (!box)
                return;
            for (QAbstractButton *b : box->buttons()) {
                if (b->text() == QStringLiteral("Delete")) {
                    asked = box->text() + QLatin1Char(' ') + box->informativeText();
                    b->click();
                    return;
                }
            }
            told = box->text();
            box->accept();
        });
        answering.start(20);
        // the UI thread waits in Delete for the answers: another thread lets the database go
        std::thread letGo([held] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            held->release();
        });
        del->trigger();
        letGo.join();
        answering.stop();
        QVERIFY2(asked.contains(QStringLiteral("\u201ctrash\u201d")) && asked.contains(QStringLiteral("2 answers")),
                 qPrintable(asked));
        QVERIFY2(told.contains(QStringLiteral("-cache/deleted/trash-")), qPrintable(told));
        QVERIFY(!lib()->category(QStringLiteral("trash")));
        QVERIFY(lib()->category(QStringLiteral("rocks")));
        QVERIFY(c->category().name != QStringLiteral("trash"));
        const QStringList saved = QDir(m_libPath + QStringLiteral("-cache/deleted"))
                                      .entryList({QStringLiteral("trash-*.csv")}, QDir::Files);
        QCOMPARE(saved.size(), 1);
        QVERIFY(told.contains(saved.first()));
        QFile f(m_libPath + QStringLiteral("-cache/deleted/") + saved.first());
        QVERIFY(f.open(QIODevice::ReadOnly | QIODevice::Text));
        const QStringList rows = QString::fromUtf8(f.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(rows.size(), 3); // the header and both answers
        QVERIFY(rows[1].contains(QStringLiteral(",yes,yes,")) || rows[2].contains(QStringLiteral(",yes,yes,")));
        QVERIFY(rows[1].contains(QStringLiteral(",no,no,")) || rows[2].contains(QStringLiteral(",no,no,")));
    }

    void classFoldersAnswerInTheBackground()
    {
        // A librarian's existing tree A/ B/ Q/: the files are imported, each
        // answers its folder's class (Q is new), and the card learns Q's key.
        auto w = window(QStringLiteral("folders"));
        QVERIFY(w);
        QTemporaryDir tree;
        QDir sample(QStringLiteral(MAGPIE_SAMPLE_DIR "/initials"));
        const QStringList files = sample.entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name).mid(100, 6);
        QCOMPARE(files.size(), 6);
        for (int i = 0; i < files.size(); ++i) {
            const QString cls = QStringList{QStringLiteral("A"), QStringLiteral("B"), QStringLiteral("Q")}[i % 3];
            QVERIFY(QDir(tree.path()).mkpath(cls));
            QVERIFY(QFile::copy(sample.filePath(files[i]), tree.filePath(cls + QLatin1Char('/') + files[i])));
        }
        const QString told = reportOf([&] { w->importAnswersFromFolders(tree.path()); });
        QVERIFY2(told.contains(QStringLiteral("6 answers")) && told.contains(QStringLiteral("Q")), qPrintable(told));
        auto l = lib();
        const auto cat = l->category(QStringLiteral("folders"));
        QCOMPARE(cat->classes.size(), 3);
        QCOMPARE(l->answers(cat->id).size(), 6);
        QCOMPARE(w->controller()->category().classes.size(), 3);
    }

    void aCsvAnswersInTheBackground()
    {
        // Another tool's CSV (image, choice): two rows of this archive and one
        // of none; the window stays responsive and reports what it did.
        auto w = window(QStringLiteral("csvin"));
        QVERIFY(w);
        const QStringList files = QDir(m_archive).entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name).mid(40, 2);
        QCOMPARE(files.size(), 2);
        QTemporaryDir tmp;
        const QString csv = tmp.filePath(QStringLiteral("answers.csv"));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Text));
        f.write(QStringLiteral("image,choice\n%1/%2,yes\n%1/%3,no\nnot-here.jpg,yes\n")
                    .arg(m_archive, files[0], files[1]).toUtf8());
        f.close();
        const QString told = reportOf([&] { w->importAnswersFromCsv(csv); });
        QVERIFY2(told.contains(QStringLiteral("2 answers")) && told.contains(QStringLiteral("1 row names no image")),
                 qPrintable(told));
        auto l = lib();
        QCOMPARE(l->answers(l->category(QStringLiteral("csvin"))->id).size(), 2);
    }

    void closingLosesNoAnswer()
    {
        auto w = window(QStringLiteral("close"));
        QVERIFY(w);
        // a background job is running when the window closes
        QTemporaryDir more;
        for (int i = 0; i < 40; ++i)
            QFile::copy(QStringLiteral(MAGPIE_SAMPLE_DIR "/initials/labels.csv"), more.filePath(QStringLiteral("x%1.csv").arg(i)));
        QDir sample(QStringLiteral(MAGPIE_SAMPLE_DIR "/initials"));
        for (const QString &f : sample.entryList({QStringLiteral("*.png")}, QDir::Files))
            QFile::copy(sample.filePath(f), more.filePath(f));
        w->importFolder(more.path());
        int answered = 0;
        for (int i = 0; i < 15 && w->controller()->hasCurrent(); ++i) {
            QVERIFY(QTest::qWaitFor([&] { return w->controller()->currentReady(); }, 5000));
            const bool counts = w->controller()->currentError().isEmpty(); // the damaged file records nothing
            press(w->swipeView(), i % 2 ? Qt::Key_Left : Qt::Key_Right);
            answered += counts ? 1 : 0;
        }
        // and a deep training pass, where the training engine is built
        bool deepStarted = false;
        for (QAction *a : w->findChildren<QAction *>())
            if (a->text().startsWith(QStringLiteral("&Deep")) && a->isEnabled()) {
                a->trigger();
                deepStarted = true;
            }
        QTest::qWait(deepStarted ? 1500 : 0); // let it get going
        QElapsedTimer closing;
        closing.start();
        w->close(); // answers still in flight, import (and training) still running
        w.reset();
        // a deep pass is time-boxed at 120 s; closing must cancel it, not wait for it
        QVERIFY2(closing.elapsed() < 30000, qPrintable(QStringLiteral("closing took %1 ms").arg(closing.elapsed())));
        QCOMPARE(lib()->answers(lib()->category(QStringLiteral("close"))->id).size(), answered);
    }
};

QTEST_MAIN(tst_Swipe)
#include "tst_swipe.moc"
